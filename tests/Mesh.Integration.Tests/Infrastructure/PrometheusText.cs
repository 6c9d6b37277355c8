using System.Globalization;
using System.Text.RegularExpressions;

namespace Mesh.Integration.Tests.Infrastructure;

/// <summary>A scrape in Prometheus' text format: its samples, each a name, labels and a value.</summary>
public sealed partial class PrometheusText
{
    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    public PrometheusText(IEnumerable<Sample> samples) => Samples = [.. samples];

    public IReadOnlyList<Sample> Samples { get; }

    public static async Task<PrometheusText> ScrapeAsync(HttpClient http, IEnumerable<string> urls)
    {
        var samples = new List<Sample>();
        foreach (var url in urls) samples.AddRange(Parse(await http.GetStringAsync(url)).Samples);
        return new PrometheusText(samples);
    }

    public static PrometheusText Parse(string text)
    {
        var samples = new List<Sample>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var match = SampleLine().Match(line);
            if (!match.Success) throw new FormatException($"not a Prometheus sample line: '{line}'");
            var labels = LabelPair().Matches(match.Groups["labels"].Value).ToDictionary(l => l.Groups[1].Value, l => l.Groups[2].Value);
            samples.Add(new Sample(match.Groups["name"].Value, labels, double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture)));
        }
        return new PrometheusText(samples);
    }

    /// <summary>The samples of <paramref name="name"/> whose labels include every one of <paramref name="labels"/>.</summary>
    public IEnumerable<Sample> Matching(string name, IReadOnlyDictionary<string, string> labels) =>
        Samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value));

    public double Sum(string name, IReadOnlyDictionary<string, string> labels) => Matching(name, labels).Sum(s => s.Value);

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+\d+)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}
