using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Mesh.Client.Commands;
using Mesh.Client.Traffic;
using Mesh.Client.Ui;
using Mesh.Integration.Tests.Infrastructure;
using Microsoft.Playwright;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Mesh.Integration.Tests;

/// <summary>
/// <c>mesh ui</c>'s page in a real browser over a three-region full mesh: three regions and six links,
/// the numbers of <c>/api/status</c>; a region's silo killed turns the region and the links it runs
/// to their states without a reload, and back when it restarts. A screenshot of each state goes to
/// artifacts/test-results.
/// </summary>
public sealed class UiBrowserTests(ITestOutputHelper output)
{
    private static readonly string[] Regions = ["us-east", "eu-west", "ap-south"];
    private const string Topic = "orders";
    private const string Killed = "ap-south";
    private const int PerRegion = 600;
    // A poll every 2 s plus the page's own: a state shows within a few seconds; the rest is margin for a busy machine.
    private static readonly LocatorAssertionsToHaveAttributeOptions Soon = new() { Timeout = 30_000 };
    // A restarted silo's replicators wait out the take-over fence (8 s in tests) before they replicate.
    private static readonly LocatorAssertionsToHaveAttributeOptions AfterRestart = new() { Timeout = 120_000 };

    [Fact]
    public async Task The_page_shows_the_mesh_and_follows_a_killed_silo_and_its_return_without_a_reload()
    {
        await using var mesh = TestMesh.InNewFolder("ui").WithShortTakeOver(Regions);
        await mesh.UpAsync(Regions, partitions: 2, Topic);
        var monitor = new MeshMonitor(ct => StatusCommand.CollectAsync(mesh.Local, ct), "the test's mesh", MeshMonitor.DefaultInterval);
        using var stop = new CancellationTokenSource();
        await monitor.PollAsync(stop.Token);
        await using var server = await UiServer.StartAsync(ListenAddress.Parse("127.0.0.1:0"), token: null, monitor);
        var polling = monitor.RunAsync(stop.Token);
        try
        {
            await using var chromium = await Chromium.LaunchAsync();
            var page = await chromium.NewPageAsync();
            await page.GotoAsync(server.Address.ToString());
            var producers = mesh.StreamIntoAsync(Regions, Topic, PerRegion, recordsPerSecond: 60);

            // Healthy: three regions up, six links replicating, and once the mesh is quiet the page's numbers are /api/status's.
            await Expect(page.Locator("g.region[data-region]")).ToHaveCountAsync(3);
            await Expect(page.Locator("g.link[data-link]")).ToHaveCountAsync(6);
            foreach (var region in Regions) await Expect(Region(page, region)).ToHaveAttributeAsync("data-state", "up", Soon);
            foreach (var (source, destination) in Links()) await Expect(Link(page, source, destination)).ToHaveAttributeAsync("data-state", "replicating", Soon);
            // While records flow, the arrows carry their rates.
            await Expect(page.Locator("g.link text[data-field='label']").Filter(new() { HasTextRegex = new Regex(@"^[1-9][0-9.,]*/s") }).First).ToBeVisibleAsync(new() { Timeout = 30_000 });
            output.WriteLine($"streaming: {await Chromium.ScreenshotAsync(page, "ui-streaming")}");
            await producers;
            using var http = new HttpClient { BaseAddress = server.Address };
            var quiet = await Eventually.WaitAsync($"/api/status to show every link with {PerRegion} records replicated and no lag",
                async () => await http.GetStringAsync("api/status"),
                json => Topics(json).Count() == 6 && Topics(json).All(t => t.Replicated == PerRegion && t.Lag == 0), TimeSpan.FromMinutes(2),
                json => string.Join(", ", Topics(json).Select(t => $"{t.Link}: {t.Replicated} replicated, lag {t.Lag}")));
            var topics = Topics(quiet).ToList();
            Assert.Equal(6, topics.Count);
            foreach (var t in topics)
            {
                var row = page.Locator($"tr[data-link-row='{t.Link}'][data-topic='{Topic}']");
                await Expect(row.Locator("td[data-field='replicated']")).ToHaveAttributeAsync("data-value", t.Replicated.ToString(), Soon);
                await Expect(row.Locator("td[data-field='lag']")).ToHaveAttributeAsync("data-value", t.Lag?.ToString() ?? "", Soon);
                await Expect(row.Locator("td[data-field='quarantined']")).ToHaveAttributeAsync("data-value", t.Quarantined.ToString(), Soon);
                await Expect(page.Locator($"g.link[data-link='{t.Link}'] text[data-field='label']")).ToContainTextAsync("lag 0", new() { Timeout = 30_000 });
            }
            // The charts drew one line per link over the kept history.
            await Expect(page.Locator("#chart-rate polyline[data-series]")).Not.ToHaveCountAsync(0);
            await Expect(page.Locator("#topology")).ToHaveAttributeAsync("data-version", "1");
            output.WriteLine($"healthy: {await Chromium.ScreenshotAsync(page, "ui-healthy")}");

            // A marker in the page's memory survives only if the page is never reloaded.
            await page.EvaluateAsync("window.meshUiNotReloaded = true");

            var clock = Stopwatch.StartNew();
            Assert.NotEmpty(await mesh.Local.KillAsync(Killed, silo: true, kafka: false));
            await Expect(Region(page, Killed)).ToHaveAttributeAsync("data-state", new Regex("^(down|unreachable)$"), Soon);
            var shownAfter = clock.Elapsed;
            // Its silos run the links into it: nothing is known of them now. The links out of it run in the others and read its Kafka, which still runs.
            foreach (var (source, destination) in Links().Where(l => l.Destination == Killed))
                await Expect(Link(page, source, destination)).ToHaveAttributeAsync("data-state", MeshStates.Unknown, Soon);
            foreach (var (source, destination) in Links().Where(l => l.Destination != Killed))
                await Expect(Link(page, source, destination)).ToHaveAttributeAsync("data-state", "replicating", Soon);
            foreach (var region in Regions.Where(r => r != Killed)) await Expect(Region(page, region)).ToHaveAttributeAsync("data-state", "up", Soon);
            output.WriteLine($"{Killed}'s silo killed: the page showed it {await Region(page, Killed).GetAttributeAsync("data-state")} after {shownAfter.TotalSeconds:0.0} s; " +
                $"{await Chromium.ScreenshotAsync(page, "ui-region-killed")}");

            clock.Restart();
            await mesh.Local.StartAsync(Killed);
            await Expect(Region(page, Killed)).ToHaveAttributeAsync("data-state", "up", AfterRestart);
            foreach (var (source, destination) in Links()) await Expect(Link(page, source, destination)).ToHaveAttributeAsync("data-state", "replicating", AfterRestart);
            output.WriteLine($"{Killed}'s silo restarted: all up and replicating on the page after {clock.Elapsed.TotalSeconds:0.0} s; " +
                $"{await Chromium.ScreenshotAsync(page, "ui-region-back")}");
            Assert.True(await page.EvaluateAsync<bool>("window.meshUiNotReloaded === true"), "the page was reloaded");
        }
        finally
        {
            await stop.CancelAsync();
            await polling;
        }
    }

    private static ILocator Region(IPage page, string region) => page.Locator($"g.region[data-region='{region}']");

    private static ILocator Link(IPage page, string source, string destination) => page.Locator($"g.link[data-link='{source}->{destination}']");

    private static IEnumerable<(string Source, string Destination)> Links() =>
        Regions.SelectMany(s => Regions.Where(d => d != s).Select(d => (s, d)));

    private sealed record TopicNumbers(string Link, long Replicated, long? Lag, long Quarantined);

    /// <summary>Per link into each region, the test topic's numbers as <c>/api/status</c> has them.</summary>
    private static IEnumerable<TopicNumbers> Topics(string statusJson)
    {
        using var status = JsonDocument.Parse(statusJson);
        return [.. status.RootElement.GetProperty("regions").EnumerateArray()
            .SelectMany(r => r.GetProperty("links").EnumerateArray())
            .SelectMany(l => l.GetProperty("topics").EnumerateArray().Where(t => t.GetProperty("topic").GetString() == Topic)
                .Select(t => new TopicNumbers($"{l.GetProperty("source").GetString()}->{l.GetProperty("destination").GetString()}",
                    t.GetProperty("recordsReplicated").GetInt64(),
                    t.GetProperty("lagRecords").ValueKind == JsonValueKind.Null ? null : t.GetProperty("lagRecords").GetInt64(),
                    t.GetProperty("recordsQuarantined").GetInt64())))];
    }
}
