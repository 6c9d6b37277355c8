namespace Mesh.Core.Topology;

/// <summary>
/// What can be checked of a region's Kafka security settings without reaching its cluster: the protocol and SASL
/// mechanism are ones librdkafka knows, they agree with each other, a mechanism has the settings it needs, and nothing
/// set is silently ignored or quietly unsafe. Values that are <c>${ENV}</c> references are judged only for being there.
/// </summary>
public static class KafkaSecurity
{
    /// <summary>librdkafka's <c>security.protocol</c> values (it accepts them in any case).</summary>
    public static readonly IReadOnlyList<string> Protocols = ["plaintext", "ssl", "sasl_plaintext", "sasl_ssl"];

    /// <summary>librdkafka's <c>sasl.mechanisms</c> values (spelled exactly so).</summary>
    public static readonly IReadOnlyList<string> Mechanisms = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", "GSSAPI"];

    /// <summary>One finding; <see cref="Key"/> names the setting it is about, null for the region's settings as a whole.</summary>
    public readonly record struct Finding(string? Key, bool IsError, string Message, string Fix);

    private static readonly string[] ClientCertificateKeys = ["ssl.certificate.location", "ssl.certificate.pem"];
    private static readonly string[] ClientKeyKeys = ["ssl.key.location", "ssl.key.pem"];

    public static IEnumerable<Finding> Check(string regionId, IReadOnlyDictionary<string, string> settings)
    {
        var region = $"region '{regionId}'";
        string? Value(string key) => settings.TryGetValue(key, out var value) && value.Length > 0 ? value : null;
        bool Known(string? value) => value is not null && !SecretReference.HasReference(value);

        var protocolKey = "security.protocol";
        var protocolText = Value(protocolKey);
        string? protocol = "plaintext"; // librdkafka's default
        if (protocolText is not null)
        {
            protocol = Known(protocolText) ? Protocols.FirstOrDefault(p => p.Equals(protocolText, StringComparison.OrdinalIgnoreCase)) : null;
            if (protocol is null && Known(protocolText))
                yield return new Finding(protocolKey, true, $"{region}: security.protocol '{protocolText}' is not one librdkafka knows",
                    $"use one of: {string.Join(", ", Protocols)}");
        }
        var usesSasl = protocol is "sasl_plaintext" or "sasl_ssl";
        var usesTls = protocol is "ssl" or "sasl_ssl";

        // librdkafka's name is sasl.mechanisms; sasl.mechanism is its alias.
        var mechanismKey = settings.ContainsKey("sasl.mechanisms") ? "sasl.mechanisms" : "sasl.mechanism";
        var mechanismText = Value(mechanismKey);
        string? mechanism = null;
        if (Known(mechanismText))
        {
            mechanism = Mechanisms.FirstOrDefault(m => m.Equals(mechanismText, StringComparison.Ordinal));
            if (mechanism is null)
            {
                var differentCase = Mechanisms.FirstOrDefault(m => m.Equals(mechanismText, StringComparison.OrdinalIgnoreCase));
                yield return new Finding(mechanismKey, true, $"{region}: SASL mechanism '{mechanismText}' is not one librdkafka knows",
                    differentCase is not null ? $"write it as '{differentCase}'" : $"use one of: {string.Join(", ", Mechanisms)}");
            }
        }

        if (mechanismText is not null && protocol is "plaintext" or "ssl")
            yield return new Finding(mechanismKey, true,
                $"{region} sets a SASL mechanism but its security.protocol is '{protocol}'{(protocolText is null ? " (the default)" : "")}: the client would never authenticate",
                $"set security.protocol: {(protocol == "ssl" ? "sasl_ssl" : "sasl_ssl (or sasl_plaintext on a trusted network)")}");
        if (usesSasl && mechanismText is null)
            yield return new Finding(protocolKey, false, $"{region} uses {protocol} without a SASL mechanism, so librdkafka falls back to GSSAPI (Kerberos)",
                $"set sasl.mechanism: {string.Join(", ", Mechanisms.Take(4))} or GSSAPI, whichever the cluster's listener expects");

        if (usesSasl && mechanism is "PLAIN" or "SCRAM-SHA-256" or "SCRAM-SHA-512")
        {
            foreach (var needed in new[] { "sasl.username", "sasl.password" })
                if (Value(needed) is null)
                    yield return new Finding(null, true, $"{region} uses SASL {mechanism} without '{needed}'",
                        needed == "sasl.password"
                            ? $"add 'sasl.password: ${{{SecretReference.SuggestVariable(regionId, needed)}}}' and set that variable where Mesh runs"
                            : "add the user name the cluster knows the mesh by as 'sasl.username'");
            if (protocol == "sasl_plaintext" && mechanism == "PLAIN")
                yield return new Finding(protocolKey, false, $"{region} sends its SASL PLAIN password unencrypted (security.protocol sasl_plaintext)",
                    "use security.protocol: sasl_ssl, or SCRAM, unless the network to the cluster is trusted");
        }

        if (usesSasl && mechanism == "OAUTHBEARER")
        {
            var method = Value("sasl.oauthbearer.method");
            if (method is not null && method.Equals("oidc", StringComparison.OrdinalIgnoreCase))
            {
                foreach (var needed in new[] { "sasl.oauthbearer.client.id", "sasl.oauthbearer.client.secret", "sasl.oauthbearer.token.endpoint.url" })
                    if (Value(needed) is null)
                        yield return new Finding(null, true, $"{region} uses OAUTHBEARER with method oidc without '{needed}'",
                            needed.EndsWith("secret", StringComparison.Ordinal)
                                ? $"add '{needed}: ${{{SecretReference.SuggestVariable(regionId, needed)}}}' and set that variable where Mesh runs"
                                : $"add '{needed}' as the identity provider gave it");
            }
            else if (Value("enable.sasl.oauthbearer.unsecure.jwt") is { } unsecure && unsecure.Equals("true", StringComparison.OrdinalIgnoreCase))
            {
                yield return new Finding("enable.sasl.oauthbearer.unsecure.jwt", false,
                    $"{region} signs its own unsecured OAUTHBEARER tokens: for test clusters only",
                    "use sasl.oauthbearer.method: oidc with the identity provider's client id, secret and token endpoint");
            }
            else
            {
                yield return new Finding("sasl.oauthbearer.method", true,
                    $"{region} uses OAUTHBEARER without 'sasl.oauthbearer.method: oidc': Mesh supplies no token of its own, so no token would ever be sent",
                    "set sasl.oauthbearer.method: oidc with sasl.oauthbearer.client.id, sasl.oauthbearer.client.secret and sasl.oauthbearer.token.endpoint.url");
            }
        }

        if (protocol is "plaintext" or "sasl_plaintext")
        {
            var ignored = settings.Keys.Where(k => k.StartsWith("ssl.", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
            if (ignored.Count > 0)
                yield return new Finding(ignored[0], false,
                    $"{region} sets {string.Join(", ", ignored)} but its security.protocol is '{protocol}'{(protocolText is null ? " (the default)" : "")}, so they are ignored and the connection is not encrypted",
                    $"set security.protocol: {(usesSasl ? "sasl_ssl" : "ssl")}, or remove the ssl settings");
        }

        if (usesTls)
        {
            var certificate = ClientCertificateKeys.FirstOrDefault(k => Value(k) is not null);
            var key = ClientKeyKeys.FirstOrDefault(k => Value(k) is not null);
            if (certificate is not null && key is null)
                yield return new Finding(certificate, true, $"{region} presents a client certificate ({certificate}) without its private key",
                    "add ssl.key.location (and ssl.key.password if the key is encrypted)");
            if (key is not null && certificate is null)
                yield return new Finding(key, true, $"{region} names a private key ({key}) without the client certificate it belongs to",
                    "add ssl.certificate.location");
            if (Value("enable.ssl.certificate.verification") is { } verify && verify.Equals("false", StringComparison.OrdinalIgnoreCase))
                yield return new Finding("enable.ssl.certificate.verification", false,
                    $"{region} does not verify its brokers' certificates: anyone on the path can pose as the cluster",
                    "remove enable.ssl.certificate.verification: false and name the cluster's CA in ssl.ca.location");
            if (Value("ssl.endpoint.identification.algorithm") is { } identification && identification.Equals("none", StringComparison.OrdinalIgnoreCase))
                yield return new Finding("ssl.endpoint.identification.algorithm", false,
                    $"{region} does not check that its brokers' certificates name the brokers it connects to",
                    "remove ssl.endpoint.identification.algorithm: none (librdkafka's default, https, checks the host name)");
        }
    }
}
