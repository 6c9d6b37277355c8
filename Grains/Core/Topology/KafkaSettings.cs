using System.Collections;
using System.Text;

namespace Mesh.Core.Topology;

/// <summary>
/// A region's librdkafka settings as written in the topology file. A value may hold
/// <c>${ENV_VAR}</c> references; they stay references here and are resolved only at use
/// (<see cref="Resolve"/>), so nothing that prints a topology can print a secret.
/// Compares by content, ignoring order.
/// </summary>
public sealed class KafkaSettings : IReadOnlyDictionary<string, string>, IEquatable<KafkaSettings>
{
    private static readonly string[] SensitiveWords = ["password", "secret", "key", "token"];

    private readonly KeyValuePair<string, string>[] _entries;
    private readonly Dictionary<string, string> _byKey;

    public static KafkaSettings Empty { get; } = new(Array.Empty<KeyValuePair<string, string>>());

    /// <exception cref="ArgumentException">A key appears twice.</exception>
    public KafkaSettings(IEnumerable<KeyValuePair<string, string>> entries)
    {
        _entries = entries.ToArray();
        _byKey = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in _entries)
        {
            if (!_byKey.TryAdd(key, value)) throw new ArgumentException($"Kafka setting '{key}' is given twice", nameof(entries));
        }
    }

    public KafkaSettings(params (string Key, string Value)[] entries)
        : this(entries.Select(e => KeyValuePair.Create(e.Key, e.Value)))
    {
    }

    public string this[string key] => _byKey[key];
    public IEnumerable<string> Keys => _entries.Select(e => e.Key);
    public IEnumerable<string> Values => _entries.Select(e => e.Value);
    public int Count => _entries.Length;
    public bool ContainsKey(string key) => _byKey.ContainsKey(key);
    public bool TryGetValue(string key, out string value) => _byKey.TryGetValue(key, out value!);
    public IEnumerator<KeyValuePair<string, string>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, string>>)_entries).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>
    /// The settings with every <c>${VAR}</c> replaced by <paramref name="environment"/>'s value.
    /// </summary>
    /// <exception cref="UnresolvedSecretException">A referenced variable is not set.</exception>
    public IReadOnlyDictionary<string, string> Resolve(string regionId, Func<string, string?> environment)
    {
        var resolved = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in _entries)
        {
            if (!SecretReference.TryParse(value, out var parts, out var error))
                throw new UnresolvedSecretException(regionId, key, null, $"Kafka setting '{key}' of region '{regionId}' is malformed: {error}");
            var sb = new StringBuilder();
            foreach (var part in parts)
            {
                if (!part.IsReference) { sb.Append(part.Text); continue; }
                var variable = environment(part.Text)
                    ?? throw new UnresolvedSecretException(regionId, key, part.Text,
                        $"Kafka setting '{key}' of region '{regionId}' refers to environment variable '{part.Text}', which is not set");
                sb.Append(variable);
            }
            resolved[key] = sb.ToString();
        }
        return resolved;
    }

    /// <summary>
    /// The value as it may be shown: references as written, and <c>***</c> for a literal value
    /// of a setting whose name suggests a secret.
    /// </summary>
    public string DisplayValue(string key)
    {
        var value = _byKey[key];
        if (!IsSensitive(key)) return value;
        return SecretReference.IsSingleReference(value) ? value : "***";
    }

    /// <summary>Every setting with <see cref="DisplayValue"/> applied, in file order.</summary>
    public IEnumerable<KeyValuePair<string, string>> Displayed() =>
        _entries.Select(e => KeyValuePair.Create(e.Key, DisplayValue(e.Key)));

    /// <summary>True for settings such as <c>sasl.password</c> or <c>ssl.key.pem</c>.</summary>
    public static bool IsSensitive(string key) =>
        SensitiveWords.Any(word => key.Contains(word, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Narrower than <see cref="IsSensitive"/>: settings that hold a secret themselves (passwords,
    /// secrets, tokens, a private key in PEM), not ones such as <c>ssl.key.location</c> that name a file.
    /// </summary>
    public static bool HoldsSecret(string key) =>
        key.Contains("password", StringComparison.OrdinalIgnoreCase)
        || key.Contains("secret", StringComparison.OrdinalIgnoreCase)
        || key.Contains("token", StringComparison.OrdinalIgnoreCase)
        || key.EndsWith("key.pem", StringComparison.OrdinalIgnoreCase);

    public bool Equals(KafkaSettings? other) =>
        other is not null && other.Count == Count && _entries.All(e => other._byKey.TryGetValue(e.Key, out var v) && v == e.Value);

    public override bool Equals(object? obj) => Equals(obj as KafkaSettings);

    public override int GetHashCode()
    {
        var hash = 0;
        foreach (var (key, value) in _entries) hash ^= HashCode.Combine(key, value);
        return hash;
    }

    public override string ToString() => string.Join(", ", Displayed().Select(e => $"{e.Key}={e.Value}"));
}

/// <summary>A <c>${VAR}</c> reference in a Kafka setting names an environment variable that is not set.</summary>
public sealed class UnresolvedSecretException(string regionId, string setting, string? variable, string message)
    : InvalidOperationException(message)
{
    public string RegionId { get; } = regionId;
    public string Setting { get; } = setting;

    /// <summary>The missing variable; null when the reference itself is malformed.</summary>
    public string? Variable { get; } = variable;
}

/// <summary>The <c>${NAME}</c> syntax: NAME is letters, digits and '_', not starting with a digit.</summary>
public static class SecretReference
{
    public readonly record struct Part(string Text, bool IsReference);

    public static bool TryParse(string value, out IReadOnlyList<Part> parts, out string error)
    {
        var result = new List<Part>();
        parts = result;
        error = "";
        var literal = new StringBuilder();
        var i = 0;
        while (i < value.Length)
        {
            if (value[i] != '$' || i + 1 >= value.Length || value[i + 1] != '{')
            {
                literal.Append(value[i++]);
                continue;
            }
            var close = value.IndexOf('}', i + 2);
            if (close < 0)
            {
                error = $"'${{' at position {i + 1} has no closing '}}'";
                return false;
            }
            var name = value[(i + 2)..close];
            if (!IsVariableName(name))
            {
                error = $"'${{{name}}}' is not an environment variable reference; a name is letters, digits and '_', not starting with a digit";
                return false;
            }
            if (literal.Length > 0) { result.Add(new Part(literal.ToString(), false)); literal.Clear(); }
            result.Add(new Part(name, true));
            i = close + 1;
        }
        if (literal.Length > 0) result.Add(new Part(literal.ToString(), false));
        return true;
    }

    public static bool HasReference(string value) => TryParse(value, out var parts, out _) && parts.Any(p => p.IsReference);

    public static bool IsSingleReference(string value) =>
        TryParse(value, out var parts, out _) && parts.Count == 1 && parts[0].IsReference;

    public static bool IsVariableName(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    public static string Reference(string variable) => "${" + variable + "}";

    /// <summary>A variable name for a region's setting: <c>eu-west</c>, <c>sasl.password</c> gives <c>EU_WEST_SASL_PASSWORD</c>.</summary>
    public static string SuggestVariable(string regionId, string key) =>
        new((regionId + "_" + key).Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToUpperInvariant(c) : '_').ToArray());
}
