using System.Globalization;
using System.Text;

namespace Mesh.Core.Topology;

/// <summary>One <c>key=value</c> entry of a Java properties file, with the line it starts on.</summary>
public sealed record PropertyEntry(string Key, string Value, int Line);

/// <summary>
/// The Java properties format MirrorMaker 2 reads: '#' and '!' comments, '=' or ':' or blanks
/// between key and value, a trailing backslash continuing a line, and backslash escapes.
/// </summary>
public static class JavaProperties
{
    /// <summary>Every entry in file order; a key given twice appears twice (the later one wins in Java).</summary>
    public static IReadOnlyList<PropertyEntry> Parse(string text)
    {
        var entries = new List<PropertyEntry>();
        var lines = text.Replace("\r\n", "\n").Replace('\r', '\n').Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var startLine = i + 1;
            var line = lines[i].TrimStart(' ', '\t', '\f');
            if (line.Length == 0 || line[0] is '#' or '!') continue;

            var logical = new StringBuilder();
            while (EndsWithContinuation(line) && i + 1 < lines.Length)
            {
                logical.Append(line, 0, line.Length - 1);
                line = lines[++i].TrimStart(' ', '\t', '\f');
            }
            logical.Append(EndsWithContinuation(line) ? line[..^1] : line);
            entries.Add(Entry(logical.ToString(), startLine));
        }
        return entries;
    }

    private static PropertyEntry Entry(string line, int lineNumber)
    {
        var key = new StringBuilder();
        var i = 0;
        for (; i < line.Length; i++)
        {
            var c = line[i];
            if (c == '\\' && i + 1 < line.Length)
            {
                key.Append(Unescape(line, ref i));
                continue;
            }
            if (c is '=' or ':' or ' ' or '\t' or '\f') break;
            key.Append(c);
        }
        // The separator is blanks, optionally with one '=' or ':' among them.
        while (i < line.Length && line[i] is ' ' or '\t' or '\f') i++;
        if (i < line.Length && line[i] is '=' or ':') i++;
        while (i < line.Length && line[i] is ' ' or '\t' or '\f') i++;

        var value = new StringBuilder();
        for (; i < line.Length; i++)
        {
            if (line[i] == '\\' && i + 1 < line.Length) value.Append(Unescape(line, ref i));
            else value.Append(line[i]);
        }
        return new PropertyEntry(key.ToString(), value.ToString().TrimEnd(), lineNumber);
    }

    private static string Unescape(string line, ref int i)
    {
        var next = line[++i];
        switch (next)
        {
            case 't': return "\t";
            case 'n': return "\n";
            case 'r': return "\r";
            case 'f': return "\f";
            case 'u' when i + 4 < line.Length
                && int.TryParse(line.AsSpan(i + 1, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var code):
                i += 4;
                return ((char)code).ToString();
            default: return next.ToString();
        }
    }

    private static bool EndsWithContinuation(string line)
    {
        var backslashes = 0;
        for (var i = line.Length - 1; i >= 0 && line[i] == '\\'; i--) backslashes++;
        return backslashes % 2 == 1;
    }
}
