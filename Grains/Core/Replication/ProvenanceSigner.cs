using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Mesh.Core.Replication;

/// <summary>
/// The mesh key(s) of a region: one that signs and verifies, and during a rotation an additional
/// one that only verifies. Every region of a mesh holds the same key. The key bytes never leave
/// this type (no ToString, no key material in any message).
/// </summary>
public sealed class MeshKeys
{
    public const int MinimumKeyLength = 32;

    private readonly byte[] _signing;
    private readonly (string Id, byte[] Key)[] _accepted;

    private MeshKeys(byte[] signing, byte[]? additional)
    {
        _signing = signing;
        SigningKeyId = ProvenanceSigner.KeyIdOf(signing);
        _accepted = additional is null || additional.AsSpan().SequenceEqual(signing)
            ? [(SigningKeyId, signing)]
            : [(SigningKeyId, signing), (ProvenanceSigner.KeyIdOf(additional), additional)];
    }

    /// <summary>Keys from configuration text; null when no signing key is configured (the mesh runs unsigned).</summary>
    public static MeshKeys? Create(string? signingKey, string? additionalKey)
    {
        if (string.IsNullOrEmpty(signingKey)) return null;
        if (!IsValidKey(signingKey, out var reason)) throw new ArgumentException(reason, nameof(signingKey));
        if (!string.IsNullOrEmpty(additionalKey) && !IsValidKey(additionalKey, out reason)) throw new ArgumentException(reason, nameof(additionalKey));
        return new MeshKeys(Encoding.UTF8.GetBytes(signingKey),
            string.IsNullOrEmpty(additionalKey) ? null : Encoding.UTF8.GetBytes(additionalKey));
    }

    /// <summary>A key is at least <see cref="MinimumKeyLength"/> characters; the reason never repeats the key.</summary>
    public static bool IsValidKey(string key, out string reason)
    {
        if (key.Length < MinimumKeyLength)
        {
            reason = $"is {key.Length} characters long; a mesh key needs at least {MinimumKeyLength}";
            return false;
        }
        if (key.Trim().Length != key.Length)
        {
            reason = "starts or ends with white space (a copy-paste slip?)";
            return false;
        }
        reason = "";
        return true;
    }

    /// <summary>A new random key (32 random bytes, base64), as <c>mesh local up</c> generates for its regions.</summary>
    public static string Generate() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public string SigningKeyId { get; }

    /// <summary>Ids of the keys a header may be signed with to verify here.</summary>
    public IEnumerable<string> AcceptedKeyIds => _accepted.Select(a => a.Id);

    /// <summary>A signer for one thread of work (it keeps hashing state).</summary>
    public ProvenanceSigner CreateSigner() => new(_signing, SigningKeyId, _accepted);

    public override string ToString() => $"mesh keys (signing {SigningKeyId}, accepting {string.Join(", ", AcceptedKeyIds)})";
}

/// <summary>
/// Signs and verifies provenance headers, and the mesh's other signed headers (<see cref="Sign"/>): HMAC-SHA256, truncated to 128 bits, over the header text
/// before its signature (which carries the origin timestamp) and the record's key and value, so a
/// header copied onto another record (a stream processor copying headers, or a forgery) does not
/// verify. The record's own timestamp is checked against the signed origin timestamp by
/// <see cref="ProvenanceTrust"/> rather than signed itself: a topic with <c>LogAppendTime</c> rewrites
/// it, and a genuine record must still verify there. Not thread-safe: one per replicator.
/// </summary>
public sealed class ProvenanceSigner : IDisposable
{
    public const int MacLength = 16;
    private const int KeyIdLength = 8;
    private static readonly byte[] Domain = "mesh.provenance/2\0"u8.ToArray();

    private readonly string _signingKeyId;
    private readonly IncrementalHash _signing;
    private readonly Dictionary<string, IncrementalHash> _verifiers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _verified = new(StringComparer.Ordinal);

    internal ProvenanceSigner(byte[] signingKey, string signingKeyId, (string Id, byte[] Key)[] accepted)
    {
        _signingKeyId = signingKeyId;
        _signing = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, signingKey);
        foreach (var (id, key) in accepted)
            _verifiers[id] = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
    }

    /// <summary>Eight hex digits of SHA-256 of the key: names the key in headers without revealing it.</summary>
    public static string KeyIdOf(byte[] key) => Convert.ToHexStringLower(SHA256.HashData(key).AsSpan(0, KeyIdLength / 2));

    public static bool IsKeyId(ReadOnlySpan<char> text)
    {
        if (text.Length != KeyIdLength) return false;
        foreach (var c in text) if (c is not (>= '0' and <= '9' or >= 'a' and <= 'f')) return false;
        return true;
    }

    /// <summary>The signed header value for <paramref name="provenance"/> on a record with this key and value.</summary>
    public byte[] Encode(Provenance provenance, byte[]? key, byte[]? value) =>
        Sign(Domain, Encoding.UTF8.GetBytes(ProvenanceCodec.EncodeUnsigned(provenance)), key, value);

    /// <summary>
    /// The value of a mesh header other than provenance, signed like it: <paramref name="unsignedHeader"/>, '|', and
    /// <c>keyid.mac</c>, the MAC over <paramref name="domain"/>, the header text and the record's key and value.
    /// The domain names the kind of header (and its format version), so that one kind's MAC never verifies as another's.
    /// </summary>
    public byte[] Sign(ReadOnlySpan<byte> domain, ReadOnlySpan<byte> unsignedHeader, byte[]? key, byte[]? value)
    {
        Span<byte> mac = stackalloc byte[32];
        Compute(_signing, domain, unsignedHeader, key, value, mac);
        return ProvenanceCodec.Encode(unsignedHeader, _signingKeyId, mac[..MacLength]);
    }

    /// <summary>
    /// Whether <paramref name="header"/> (decoded from <paramref name="headerValue"/>) was signed with a key
    /// this region holds, for exactly this key and value; otherwise why not.
    /// </summary>
    public bool Verify(ReadOnlySpan<byte> headerValue, ProvenanceHeader header, byte[]? key, byte[]? value, out string reason) =>
        Verify(headerValue, header, key, value, out reason, out _);

    /// <param name="keysDiffer">
    /// True when the header cannot be judged here at all (unsigned, or signed with a key this region does
    /// not hold): the regions' keys differ, a configuration problem rather than a copied header.
    /// </param>
    public bool Verify(ReadOnlySpan<byte> headerValue, ProvenanceHeader header, byte[]? key, byte[]? value, out string reason, out bool keysDiffer)
    {
        if (!Verify(Domain, "provenance", headerValue[..header.SignedLength], header.KeyId, header.Mac, key, value, out reason, out keysDiffer)) return false;
        // One lookup per verified record: this is on the per-record path.
        System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_verified, header.KeyId!, out _)++;
        return true;
    }

    /// <summary>The key this signer signs with (its id, never the key).</summary>
    public string SigningKeyId => _signingKeyId;

    /// <summary>Provenance headers this signer verified, per key id: during a key rotation, which key the records still arrive under.</summary>
    public IReadOnlyDictionary<string, long> VerifiedByKey => _verified;

    /// <summary>
    /// Whether a header made by <see cref="Sign"/> under <paramref name="domain"/> was signed with a key this region
    /// holds, for exactly this text, key and value; otherwise why not (<paramref name="what"/> names the header there).
    /// </summary>
    /// <param name="signedPart">The header's bytes before its last '|'.</param>
    /// <param name="keyId">Null, with <paramref name="mac"/>, when the header is unsigned.</param>
    /// <param name="keysDiffer">True when the header cannot be judged here at all (unsigned, or signed with a key this region does not hold).</param>
    public bool Verify(ReadOnlySpan<byte> domain, string what, ReadOnlySpan<byte> signedPart, string? keyId, byte[]? mac, byte[]? key, byte[]? value,
        out string reason, out bool keysDiffer)
    {
        keysDiffer = true;
        if (keyId is null || mac is null)
        {
            reason = $"it is not signed, and this region requires signed {what} (Mesh:Provenance:Key is set)";
            return false;
        }
        if (!_verifiers.TryGetValue(keyId, out var verifier))
        {
            reason = $"it is signed with key {keyId}, which this region does not hold (it accepts {string.Join(", ", _verifiers.Keys)})";
            return false;
        }
        keysDiffer = false;
        Span<byte> computed = stackalloc byte[32];
        Compute(verifier, domain, signedPart, key, value, computed);
        if (!CryptographicOperations.FixedTimeEquals(computed[..MacLength], mac))
        {
            reason = $"its signature does not match the record (its key, value or {what} differ from what was signed: a header copied from another record, or altered)";
            return false;
        }
        reason = "";
        return true;
    }

    // The MAC covers domain | len(header) header | len(key) key | len(value) value, lengths as big-endian int32 and
    // -1 for null, so that no two different records hash the same bytes. The fields are laid out in one buffer first:
    // one call into the HMAC instead of seven, for every record replicated or verified.
    private static void Compute(IncrementalHash hmac, ReadOnlySpan<byte> domain, ReadOnlySpan<byte> unsignedHeader, byte[]? key, byte[]? value, Span<byte> destination)
    {
        var length = domain.Length + 12 + unsignedHeader.Length + (key?.Length ?? 0) + (value?.Length ?? 0);
        byte[]? rented = null;
        var buffer = length <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            domain.CopyTo(buffer);
            var at = domain.Length;
            at = Put(buffer, at, unsignedHeader, isNull: false);
            at = Put(buffer, at, key, key is null);
            at = Put(buffer, at, value, value is null);
            hmac.AppendData(buffer[..at]);
            hmac.GetHashAndReset(destination);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private const int StackLimit = 1024;

    private static int Put(Span<byte> buffer, int at, ReadOnlySpan<byte> field, bool isNull)
    {
        BinaryPrimitives.WriteInt32BigEndian(buffer[at..], isNull ? -1 : field.Length);
        at += 4;
        field.CopyTo(buffer[at..]);
        return at + field.Length;
    }

    public void Dispose()
    {
        _signing.Dispose();
        foreach (var verifier in _verifiers.Values) verifier.Dispose();
    }
}
