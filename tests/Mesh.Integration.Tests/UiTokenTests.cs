using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Mesh.Client.Commands;
using Mesh.Client.Local;
using Mesh.Client.Ui;
using Mesh.Integration.Tests.Infrastructure;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace Mesh.Integration.Tests;

/// <summary>
/// <c>mesh ui</c> beyond loopback: without its token, or with a wrong one, every request gets 401 and
/// none of the mesh's data; with it (bearer header, or <c>?token=</c> once, then the cookie) the page
/// works in a browser. Its bad input, through the real command line: no token, a bad address, an
/// invalid topology file, an address in use, regions that do not answer.
/// </summary>
public sealed class UiTokenTests(ITestOutputHelper output)
{
    private const string Token = "s3cret-Token_for-the-test";
    private const string Region = "region-only-the-token-shows";

    [Fact]
    public async Task Beyond_loopback_a_request_without_the_token_gets_401_and_no_data_and_with_it_the_page_works()
    {
        IReadOnlyList<StatusCommand.RegionReport> reports = [new(Region, true, 1, 1, true, null, [])];
        var monitor = new MeshMonitor(_ => Task.FromResult(reports), "a canned status", MeshMonitor.DefaultInterval);
        await monitor.PollAsync(CancellationToken.None);
        await using var server = await UiServer.StartAsync(ListenAddress.Parse("0.0.0.0:0"), Token, monitor);
        using var http = new HttpClient { BaseAddress = server.Address };

        foreach (var path in new[] { "/", "/api/status", "/api/view", "/mesh-ui.js" })
        {
            foreach (var (how, request) in new (string, HttpRequestMessage)[]
            {
                ("no token", new(HttpMethod.Get, path)),
                ("a wrong bearer token", new(HttpMethod.Get, path) { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Token + "x") } }),
                ("a wrong ?token=", new(HttpMethod.Get, path + "?token=" + Token[..^1])),
                ("a wrong cookie", new(HttpMethod.Get, path) { Headers = { { "Cookie", $"{TokenGate.CookieName}=nope" } } }),
            })
            {
                using var response = await http.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{path} with {how}: {(int)response.StatusCode}");
                Assert.DoesNotContain(Region, body);
            }
            using var allowed = new HttpRequestMessage(HttpMethod.Get, path) { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Token) } };
            using var ok = await http.SendAsync(allowed);
            Assert.True(ok.StatusCode == HttpStatusCode.OK, $"{path} with the bearer token: {(int)ok.StatusCode}");
        }
        using var status = new HttpRequestMessage(HttpMethod.Get, "/api/status") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Token) } };
        Assert.Equal(StatusCommand.ToJson(reports), await (await http.SendAsync(status)).Content.ReadAsStringAsync());

        await using var chromium = await Chromium.LaunchAsync();
        var refused = await chromium.NewPageAsync();
        Assert.Equal(401, (await refused.GotoAsync(server.Address.ToString()))!.Status);
        Assert.Equal(0, await refused.Locator($"[data-region]").CountAsync());

        // The first load carries ?token=; the page then runs on the cookie, and the token leaves the address bar.
        var page = await chromium.NewPageAsync();
        await page.GotoAsync($"{server.Address}?token={Uri.EscapeDataString(Token)}");
        await Expect(page.Locator($"g.region[data-region='{Region}']")).ToHaveAttributeAsync("data-state", "up");
        Assert.DoesNotContain("token", page.Url);
        output.WriteLine(await Chromium.ScreenshotAsync(page, "ui-with-token"));
    }

    [Fact]
    public async Task Bad_input_gets_a_clear_error_and_its_exit_code_without_a_stack_trace()
    {
        var timeout = TimeSpan.FromMinutes(1);
        await Fails(2, "--token", await MeshProcesses.MeshAsync(timeout, "ui", "--listen", "0.0.0.0:0", "--gateways", "r1=127.0.0.1:1"));
        await Fails(2, "is not host:port", await MeshProcesses.MeshAsync(timeout, "ui", "--listen", "8080", "--gateways", "r1=127.0.0.1:1"));

        var dir = Directory.CreateTempSubdirectory("mesh-ui-").FullName;
        try
        {
            var bad = Path.Combine(dir, "bad.yaml");
            await File.WriteAllTextAsync(bad, "name: broken\nversion: 1\nregions:\n  r1: {}\nlinks:\n  - from: r1\n    to: nowhere\n");
            await Fails(2, "bad.yaml is invalid", await MeshProcesses.MeshAsync(timeout, "ui", "--topology", bad, "--listen", "127.0.0.1:0"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        await Fails(2, "address already in use", await MeshProcesses.MeshAsync(timeout, "ui", "--listen", $"127.0.0.1:{port}", "--gateways", "r1=127.0.0.1:1"));

        // A gateway where nothing listens: nothing to show.
        await Fails(3, "no region of the gateways given with --gateways answers", await MeshProcesses.MeshAsync(timeout, "ui", "--listen", "127.0.0.1:0",
            "--gateways", $"r1=127.0.0.1:{LocalMesh.FreePort()}"));
    }

    private static Task Fails(int exitCode, string message, MeshProcesses.Result result)
    {
        Assert.True(result.ExitCode == exitCode && result.Stderr.Contains(message, StringComparison.Ordinal), $"expected exit {exitCode} and '{message}':\n{result}");
        Assert.DoesNotContain("   at ", result.Stderr);
        return Task.CompletedTask;
    }
}
