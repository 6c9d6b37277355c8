namespace Mesh.Core.Tests.Topology;

// Inside the namespace, so that "Topology" names the type rather than the namespace Mesh.Core.Topology.
using Mesh.Core.Topology;
using static TopologyBuilder;

/// <summary>Pattern expansion, routes, the forwarding table and topic naming, one table each.</summary>
public sealed class DerivationTests
{
    public static TheoryData<string, TopologyPattern, string, string?, string?, string, string> Expansions => new()
    {
        // case, pattern, regions, primary, hub, explicit links, expected links
        { "active-passive: primary to each standby", TopologyPattern.ActivePassive, "dr,main,qa", "main", null, "", "main>dr main>qa" },
        { "active-active: both directions", TopologyPattern.ActiveActive, "east,west", null, null, "", "east>west west>east" },
        { "hub-spoke: hub and each spoke both ways", TopologyPattern.HubSpoke, "a,b,c,hq", null, "hq", "", "a>hq b>hq c>hq hq>a hq>b hq>c" },
        { "mesh: every ordered pair", TopologyPattern.Mesh, "a,b,c", null, null, "", "a>b a>c b>a b>c c>a c>b" },
        { "mesh of one region: no links", TopologyPattern.Mesh, "a", null, null, "", "" },
        { "custom: only the listed links", TopologyPattern.Custom, "a,b,c", null, null, "a>b b>c", "a>b b>c" },
        { "explicit link adds to the pattern", TopologyPattern.ActivePassive, "a,b", "a", null, "b>a", "a>b b>a" },
        { "spoke shortcut adds to hub-spoke", TopologyPattern.HubSpoke, "a,b,hq", null, "hq", "a>b", "a>b a>hq b>hq hq>a hq>b" },
        { "disabled explicit link removes one", TopologyPattern.Mesh, "a,b,c", null, null, "!a>b", "a>c b>a b>c c>a c>b" },
        { "override keeps the link once", TopologyPattern.Mesh, "a,b", null, null, "a>b:push", "a>b b>a" },
        { "region order in the file does not matter", TopologyPattern.Mesh, "c,a,b", null, null, "", "a>b a>c b>a b>c c>a c>b" },
    };

    [Theory]
    [MemberData(nameof(Expansions))]
    public void Pattern_expands_to_links(string name, TopologyPattern pattern, string regions, string? primary, string? hub, string links, string expected)
    {
        var topology = Build(pattern, regions, primary, hub, links);
        Assert.True(expected == LinkText(topology.Links), $"{name}: expected [{expected}], got [{LinkText(topology.Links)}]");
    }

    [Fact]
    public void Explicit_link_overrides_mode_and_topics_of_the_expanded_one()
    {
        var document = Document(TopologyPattern.Mesh, "a,b") with
        {
            Topics = new TopicRules(new TopicSelector([".*"], ["__.*"]), []),
            Links = [new LinkDocument("a", "b") { Mode = LinkMode.Push, Topics = new TopicOverride(["orders.*"], null) }],
        };

        var topology = Topology.FromDocument(document);

        var ab = topology.FindLink("a", "b")!;
        Assert.Equal(LinkMode.Push, ab.Mode);
        Assert.Equal(new TopicSelector(["orders.*"], ["__.*"]), ab.Topics);
        var ba = topology.FindLink("b", "a")!;
        Assert.Equal(LinkMode.Pull, ba.Mode);
        Assert.Equal(new TopicSelector([".*"], ["__.*"]), ba.Topics);
    }

    public static TheoryData<string, TopologyPattern, string, string?, string?, string, string> RouteCases => new()
    {
        // case, pattern, regions, primary, hub, explicit links, expected "origin>destination=path" (path '-' separated, '(none)' when unreachable)
        { "mesh: always direct", TopologyPattern.Mesh, "a,b,c", null, null, "", "a>c=a-c c>a=c-a b>c=b-c" },
        { "hub-spoke: spoke to spoke through the hub", TopologyPattern.HubSpoke, "a,b,hq", null, "hq", "", "a>b=a-hq-b b>a=b-hq-a a>hq=a-hq hq>b=hq-b" },
        { "ring: the only way round", TopologyPattern.Custom, "a,b,c,d", null, null, "a>b b>c c>d d>a", "a>d=a-b-c-d d>c=d-a-b-c c>b=c-d-a-b" },
        { "active-passive: standbys never reach anyone", TopologyPattern.ActivePassive, "a,b,c", "a", null, "", "a>b=a-b b>c=(none) b>a=(none)" },
        { "tie: smaller predecessor id wins", TopologyPattern.Custom, "m,n,s,t", null, null, "s>n s>m n>t m>t", "s>t=s-m-t" },
        { "tie: decided one hop before the destination", TopologyPattern.Custom, "a,b,p,q,s,t", null, null, "s>b s>a a>q b>p q>t p>t", "s>t=s-b-p-t" },
        { "shortest wins over smaller ids", TopologyPattern.Custom, "a,b,c,z", null, null, "a>b b>c c>z a>z", "a>z=a-z" },
        { "spoke shortcut bypasses the hub", TopologyPattern.HubSpoke, "a,b,hq", null, "hq", "a>b", "a>b=a-b b>a=b-hq-a" },
    };

    [Theory]
    [MemberData(nameof(RouteCases))]
    public void Routes_are_shortest_paths_with_ties_broken_by_region_id(string name, TopologyPattern pattern, string regions, string? primary, string? hub, string links, string expected)
    {
        var topology = Build(pattern, regions, primary, hub, links);
        foreach (var item in expected.Split(' '))
        {
            var (pair, path) = (item.Split('=')[0], item.Split('=')[1]);
            var (origin, destination) = (pair.Split('>')[0], pair.Split('>')[1]);
            var route = topology.FindRoute(origin, destination);
            var actual = route is null ? "(none)" : string.Join("-", route.Path);
            Assert.True(path == actual, $"{name}: route {origin} -> {destination} expected {path}, got {actual}");
        }
    }

    [Fact]
    public void Routes_list_every_connected_pair_once_in_id_order()
    {
        var topology = Build(TopologyPattern.HubSpoke, "hq,a,b,c", hub: "hq");

        Assert.Equal(12, topology.Routes.Count);
        Assert.Equal(topology.Routes.OrderBy(r => r.Origin, StringComparer.Ordinal).ThenBy(r => r.Destination, StringComparer.Ordinal), topology.Routes);
        Assert.All(topology.Routes, r => Assert.Equal(r.Path[^2], r.Predecessor));
    }

    public static TheoryData<string, TopologyPattern, string, string?, string?, string, string> ForwardingCases => new()
    {
        // case, pattern, regions, primary, hub, explicit links, expected "from>to=origins" (origins '+' separated, '-' for none)
        { "mesh: a link carries only its source's records", TopologyPattern.Mesh, "a,b,c", null, null, "", "a>b=a a>c=a b>a=b b>c=b c>a=c c>b=c" },
        { "hub-spoke: the hub forwards all but the spoke's own", TopologyPattern.HubSpoke, "a,b,c,hq", null, "hq", "", "hq>a=b+c+hq hq>b=a+c+hq hq>c=a+b+hq a>hq=a b>hq=b c>hq=c" },
        { "ring: each link carries all but its destination's", TopologyPattern.Custom, "a,b,c,d", null, null, "a>b b>c c>d d>a", "a>b=a+c+d b>c=a+b+d c>d=a+b+c d>a=b+c+d" },
        { "active-passive: the primary's records only", TopologyPattern.ActivePassive, "a,b,c", "a", null, "", "a>b=a a>c=a" },
        { "a link off every route carries nothing", TopologyPattern.Custom, "a,b,c", null, null, "a>b b>c a>c", "a>b=a a>c=a b>c=b" },
        { "chain: the middle forwards the head's records", TopologyPattern.Custom, "a,b,c", null, null, "a>b b>c", "a>b=a b>c=a+b" },
    };

    [Theory]
    [MemberData(nameof(ForwardingCases))]
    public void Forwarding_table_carries_the_origins_whose_route_uses_the_link(string name, TopologyPattern pattern, string regions, string? primary, string? hub, string links, string expected)
    {
        var topology = Build(pattern, regions, primary, hub, links);
        foreach (var item in expected.Split(' '))
        {
            var (pair, origins) = (item.Split('=')[0], item.Split('=')[1]);
            var (from, to) = (pair.Split('>')[0], pair.Split('>')[1]);
            var carried = topology.Forwarding.OriginsCarried(from, to).Order(StringComparer.Ordinal).ToArray();
            var actual = carried.Length == 0 ? "-" : string.Join("+", carried);
            Assert.True(origins == actual, $"{name}: link {from} -> {to} expected origins {origins}, got {actual}");
            foreach (var origin in Ids(regions))
                Assert.Equal(carried.Contains(origin), topology.ShouldForward(origin, from, to));
        }
    }

    [Fact]
    public void Full_mesh_table_equals_the_walking_mesh_rule_forward_only_own_records()
    {
        var ids = Ids("ap,eu,sa,us,za");
        var topology = Build(TopologyPattern.Mesh, string.Join(",", ids));

        foreach (var origin in ids)
        foreach (var from in ids)
        foreach (var to in ids)
        {
            var walkingMesh = origin == from && from != to;
            Assert.True(walkingMesh == topology.ShouldForward(origin, from, to), $"origin {origin}, link {from} -> {to}");
        }
    }

    [Fact]
    public void Forwarding_for_a_missing_link_is_empty()
    {
        var topology = Build(TopologyPattern.ActivePassive, "a,b", primary: "a");

        Assert.Empty(topology.Forwarding.OriginsCarried("b", "a"));
        Assert.False(topology.ShouldForward("b", "b", "a"));
        Assert.False(topology.ShouldForward("a", "a", "a"));
    }

    [Fact]
    public void Link_that_selects_no_topic_is_left_out_of_routing()
    {
        var document = Document(TopologyPattern.Custom, "a,b,c", links: "a>b b>c") with
        {
            Links = [new LinkDocument("a", "b") { Topics = new TopicOverride([], null) }, new LinkDocument("b", "c"), new LinkDocument("a", "c")],
        };

        var topology = Topology.FromDocument(document);

        Assert.Equal("a-c", string.Join("-", topology.FindRoute("a", "c")!.Path));
        Assert.Null(topology.FindRoute("a", "b"));
        Assert.Empty(topology.Forwarding.OriginsCarried("a", "b"));
    }

    public static TheoryData<NamingPolicy, string, string, string, string> RemoteNames => new()
    {
        { NamingPolicy.Identity, "us", "orders", "eu", "orders" },
        { NamingPolicy.Identity, "us", "eu.orders", "ap", "eu.orders" },
        { NamingPolicy.Prefix, "us", "orders", "eu", "us.orders" },
        { NamingPolicy.Prefix, "eu", "us.orders", "ap", "eu.us.orders" },
    };

    [Theory]
    [MemberData(nameof(RemoteNames))]
    public void Remote_topic_name_follows_the_naming_policy(NamingPolicy naming, string source, string topic, string target, string expected)
    {
        var document = Document(TopologyPattern.Mesh, "ap,eu,us") with { Naming = naming };
        var topology = Topology.FromDocument(document);

        Assert.Equal(expected, topology.RemoteTopicName(source, topic, target));
    }

    public static TheoryData<string, NamingPolicy, string, string, string, bool> Replicable => new()
    {
        // case, naming, topic, from, to, replicated
        { "plain topic", NamingPolicy.Prefix, "orders", "us", "eu", true },
        { "remote topic of a third region", NamingPolicy.Prefix, "ap.orders", "us", "eu", true },
        { "cycle: topic came from the target", NamingPolicy.Prefix, "eu.orders", "us", "eu", false },
        { "cycle: target deeper in the chain", NamingPolicy.Prefix, "ap.eu.orders", "us", "eu", false },
        { "last segment is the topic, not a prefix", NamingPolicy.Prefix, "orders.eu", "us", "eu", true },
        { "identity naming has no cycle rule", NamingPolicy.Identity, "eu.orders", "us", "eu", true },
        { "internal topics never replicate", NamingPolicy.Identity, "__consumer_offsets", "us", "eu", false },
        { "excluded by the selector", NamingPolicy.Identity, "orders-internal", "us", "eu", false },
        { "not selected by the link", NamingPolicy.Identity, "payments", "us", "ap", false },
        { "no such link", NamingPolicy.Identity, "orders", "eu", "eu", false },
    };

    [Theory]
    [MemberData(nameof(Replicable))]
    public void Is_replicable_applies_link_selector_internal_topics_and_the_MM2_cycle_rule(string name, NamingPolicy naming, string topic, string from, string to, bool expected)
    {
        var document = Document(TopologyPattern.Mesh, "ap,eu,us") with
        {
            Naming = naming,
            Topics = new TopicRules(new TopicSelector([".*"], [".*-internal"]), []),
            Links = [new LinkDocument("us", "ap") { Topics = new TopicOverride(["orders"], null) }],
        };
        var topology = Topology.FromDocument(document);

        Assert.True(expected == topology.IsReplicable(topic, from, to), name);
    }

    [Fact]
    public void Prefix_names_accumulate_along_a_route()
    {
        var document = Document(TopologyPattern.HubSpoke, "a,b,hq", hub: "hq") with { Naming = NamingPolicy.Prefix };
        var topology = Topology.FromDocument(document);

        Assert.Equal("hq.a.orders", TopicNaming.NameAlongRoute(topology.Naming, topology.FindRoute("a", "b")!, "orders"));
        Assert.Equal("a.orders", TopicNaming.NameAlongRoute(topology.Naming, topology.FindRoute("a", "hq")!, "orders"));
        // The name at b carries a's prefix, so b never sends it back to a.
        Assert.False(topology.IsReplicable("hq.a.orders", "b", "hq"));
    }

    public static TheoryData<string, string, ConflictPolicy> ConflictCases => new()
    {
        { "orders", "exact name", ConflictPolicy.None },
        { "orders-eu", "expression", ConflictPolicy.Lww },
        { "audit", "first matching expression", ConflictPolicy.Lww },
        { "payments", "no rule", ConflictPolicy.None },
    };

    [Theory]
    [MemberData(nameof(ConflictCases))]
    public void Conflict_policy_prefers_exact_names_then_the_first_matching_expression(string topic, string why, ConflictPolicy expected)
    {
        var document = Document(TopologyPattern.Mesh, "a,b") with
        {
            Topics = new TopicRules(TopicSelector.All,
            [
                new ConflictRule("orders.*", ConflictPolicy.Lww),
                new ConflictRule("orders", ConflictPolicy.None),
                new ConflictRule("a.*", ConflictPolicy.Lww),
                new ConflictRule("au.*", ConflictPolicy.None),
            ]),
        };

        Assert.True(expected == Topology.FromDocument(document).ConflictPolicyFor(topic), why);
    }

    [Theory]
    [InlineData("orders", "orders", true)]
    [InlineData("orders", "orders-dlq", false)]
    [InlineData("orders.*", "orders-dlq", true)]
    [InlineData("orders", "orders\n", false)]
    [InlineData("a|b", "b", true)]
    public void Topic_expressions_match_whole_names(string pattern, string topic, bool expected)
    {
        Assert.Equal(expected, TopicPattern.IsMatch(pattern, topic));
    }
}
