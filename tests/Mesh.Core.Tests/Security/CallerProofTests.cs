using Mesh.Core.Security;

namespace Mesh.Core.Tests.Security;

/// <summary>A caller's proof names its certificate's holder only when signed by that holder's key, for that call, in time, by the mesh's CA.</summary>
public sealed class CallerProofTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);
    private const string Apply = "mesh.ITopologyGrain.Apply";

    [Fact]
    public void A_proof_names_its_holder_and_role()
    {
        using var ca = MeshCertificates.CreateAuthority("CA", TimeSpan.FromDays(30), Now);
        using var alice = MeshCertificates.Issue(ca, MeshRole.Operator, "alice", [], TimeSpan.FromDays(1), Now);

        var (identity, refusal) = CallerProof.Verify(CallerProof.Create(alice, Apply, Now), Apply, ca, null, Now.AddSeconds(2));

        Assert.Null(refusal);
        Assert.Equal((MeshRole.Operator, "alice"), (identity!.Role, identity.Name));
    }

    [Fact]
    public void Every_way_a_proof_can_be_wrong_is_refused_with_its_reason()
    {
        using var ca = MeshCertificates.CreateAuthority("CA", TimeSpan.FromDays(30), Now);
        using var other = MeshCertificates.CreateAuthority("CA", TimeSpan.FromDays(30), Now);
        using var alice = MeshCertificates.Issue(ca, MeshRole.Operator, "alice", [], TimeSpan.FromDays(1), Now);
        using var bob = MeshCertificates.Issue(ca, MeshRole.ReadOnly, "bob", [], TimeSpan.FromDays(1), Now);
        using var mallory = MeshCertificates.Issue(other, MeshRole.Operator, "mallory", [], TimeSpan.FromDays(1), Now);
        var good = CallerProof.Create(alice, Apply, Now);
        var parts = good.Split('.');
        // bob's certificate sent with alice's signature: claims bob's name without bob's key
        var borrowed = $"{Convert.ToBase64String(bob.RawData)}.{parts[1]}.{parts[2]}";

        var cases = new (string? Proof, string Call, DateTimeOffset At, string Expected)[]
        {
            (null, Apply, Now, "carries no proof"),
            ("garbage", Apply, Now, "malformed"),
            ("a.b.c", Apply, Now, "malformed"),
            (good, Apply, Now.AddMinutes(6), "more than 5 minutes from this silo's clock"),
            (good, "mesh.ITopologyGrain.Rebuild", Now, "not signed by its certificate's key for this call"),
            (borrowed, Apply, Now, "not signed by its certificate's key for this call"),
            (CallerProof.Create(mallory, Apply, Now), Apply, Now, "was not issued by this mesh's CA"),
        };
        foreach (var (proof, call, at, expected) in cases)
        {
            var (identity, refusal) = CallerProof.Verify(proof, call, ca, null, at);
            Assert.Null(identity);
            Assert.Contains(expected, refusal);
        }
    }
}
