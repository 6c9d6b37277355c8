using System.Text.RegularExpressions;
using System.Xml.Linq;
using Mesh.Core.Topology;
using Mesh.Integration.Tests.Infrastructure;
using Mesh.Silo.Options;
using Microsoft.Extensions.Configuration;
using YamlDotNet.RepresentationModel;

namespace Mesh.Integration.Tests;

/// <summary>
/// The files an operator deploys a region with (deploy/regions: examples, Kubernetes manifests,
/// Dockerfile) read as the silo and Kubernetes would read them: each example loads and validates,
/// the manifests refer only to what they define, and the ports agree everywhere.
/// </summary>
public sealed partial class DeployFilesTests
{
    private static readonly string Root = FindRepositoryRoot();
    private static readonly string Deploy = Path.Combine(Root, "deploy", "regions");
    private static readonly string Examples = Path.Combine(Deploy, "examples");
    private static readonly string Kubernetes = Path.Combine(Deploy, "kubernetes");
    private const string ConfigDirectory = "/etc/mesh";

    private static List<string> ExampleFolderNames() =>
        [.. Directory.GetDirectories(Examples).Select(d => Path.GetFileName(d)).Order()];

    private static List<string> ExampleRegionConfigNames() =>
        [.. Directory.GetFiles(Examples, "*.json", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(Examples, f)).Order()];

    public static TheoryData<string> ExampleFolders() => [.. ExampleFolderNames()];

    public static TheoryData<string> ExampleRegionConfigs() => [.. ExampleRegionConfigNames()];

    [Fact]
    public void There_is_an_example_for_every_pattern()
    {
        var patterns = ExampleFolderNames().Select(f => Topology.Load(File.ReadAllText(Path.Combine(Examples, f, "topology.yaml")), f).Topology?.Pattern).ToHashSet();
        foreach (var pattern in new[] { TopologyPattern.Mesh, TopologyPattern.ActiveActive, TopologyPattern.ActivePassive, TopologyPattern.HubSpoke })
            Assert.True(patterns.Contains(pattern), $"no example in {Examples} has 'pattern: {TopologyKeywords.Word(pattern)}'");
    }

    [Theory]
    [MemberData(nameof(ExampleFolders))]
    public void Each_example_topology_loads_without_errors_or_warnings(string folder)
    {
        var path = Path.Combine(Examples, folder, "topology.yaml");
        Assert.True(File.Exists(path), $"{path} is missing: every example has its topology file");
        var load = Topology.Load(File.ReadAllText(path), path);
        Assert.True(load.Problems.Count == 0, string.Join("\n", load.Problems.Select(p => p.Describe(path))));
        Assert.NotNull(load.Topology);
        foreach (var region in load.Topology!.Regions)
        {
            Assert.True(region.Kafka.ContainsKey("bootstrap.servers"), $"{path}: region {region.Id} has no bootstrap.servers");
            Assert.True(region.Gateway.Count > 0, $"{path}: region {region.Id} names no gateway, so 'mesh status --topology' cannot reach it");
            foreach (var (key, value) in region.Kafka.Where(s => KafkaSettings.HoldsSecret(s.Key)))
                Assert.True(SecretReference.IsSingleReference(value), $"{path}: {region.Id} kafka {key} must be a ${{VARIABLE}} reference, not a value");
        }
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(Examples, folder), "*.json"));
    }

    [Theory]
    [MemberData(nameof(ExampleRegionConfigs))]
    public void Each_example_region_config_binds_and_validates_with_the_secrets_from_the_environment(string relative)
    {
        var path = Path.Combine(Examples, relative);
        var topologyPath = Path.Combine(Path.GetDirectoryName(path)!, "topology.yaml");
        var region = BindRegion(path, topologyPath, SiloEnvironment());

        var topology = Topology.Load(File.ReadAllText(topologyPath), topologyPath).Topology!;
        var own = topology.Regions.SingleOrDefault(r => r.Id == region.Region);
        Assert.True(own is not null, $"{relative}: region '{region.Region}' is not a region of {topologyPath}");
        Assert.Equal(own!.Kafka["bootstrap.servers"], region.Kafka.BootstrapServers);
        foreach (var (key, value) in own.Kafka.Where(s => !KafkaSettings.HoldsSecret(s.Key) && s.Key != "bootstrap.servers"))
            Assert.True(region.Kafka.Settings.GetValueOrDefault(key) == value, $"{relative}: Mesh:Kafka:Settings:{key} differs from the topology's '{value}'");
        Assert.Equal("adonet", region.Orleans.Clustering);
        Assert.Equal("Npgsql", region.Orleans.AdoNet.Invariant);

        // The secrets come only from the environment the manifests set, never from the file.
        var fileOnly = BindRegion(path, topologyPath, new Dictionary<string, string>(), validate: false);
        Assert.Equal("", fileOnly.Orleans.AdoNet.ConnectionString);
        Assert.Equal("", fileOnly.Provenance.Key);
        Assert.DoesNotContain(fileOnly.Kafka.Settings.Keys, KafkaSettings.HoldsSecret);
        Assert.NotEqual("", region.Orleans.AdoNet.ConnectionString);
        Assert.NotEqual("", region.Provenance.Key);
        Assert.Contains("sasl.password", region.Kafka.Settings.Keys);
    }

    [Fact]
    public void Every_manifest_document_names_its_api_kind_and_name_and_the_kustomization_lists_them()
    {
        var documents = Manifests();
        Assert.NotEmpty(documents);
        foreach (var (file, doc) in documents)
        {
            Assert.True(Text(doc, "apiVersion") is { Length: > 0 }, $"{file}: a document has no apiVersion");
            Assert.True(Text(doc, "kind") is { Length: > 0 }, $"{file}: a document has no kind");
            if (Text(doc, "kind") != "Kustomization")
                Assert.True(Text(doc, "metadata", "name") is { Length: > 0 }, $"{file}: a {Text(doc, "kind")} has no metadata.name");
        }

        var kustomization = documents.Single(d => Text(d.Doc, "kind") == "Kustomization");
        var listed = Items(kustomization.Doc, "resources").Select(r => ((YamlScalarNode)r).Value!).ToList();
        foreach (var resource in listed)
            Assert.True(File.Exists(Path.Combine(Kubernetes, resource)), $"kustomization.yaml lists {resource}, which does not exist");
        var files = documents.Select(d => d.File).Distinct().Where(f => f != "kustomization.yaml").ToList();
        // Applying the manifests must never overwrite the real secrets with placeholders.
        Assert.DoesNotContain(listed, r => documents.Any(d => d.File == r && Text(d.Doc, "kind") == "Secret"));
        Assert.All(files.Where(f => !documents.Any(d => d.File == f && Text(d.Doc, "kind") == "Secret")),
            f => Assert.True(listed.Contains(f), $"kustomization.yaml does not list {f}"));

        var ns = Single(documents, "Namespace");
        var name = Text(ns, "metadata", "name");
        Assert.Equal(name, Text(kustomization.Doc, "namespace"));
        foreach (var (file, doc) in documents.Where(d => Text(d.Doc, "kind") is not ("Namespace" or "Kustomization")))
            Assert.True(Text(doc, "metadata", "namespace") == name, $"{file}: {Text(doc, "kind")} {Text(doc, "metadata", "name")} is not in namespace {name}");
    }

    [Fact]
    public void The_silo_workload_refers_only_to_what_the_manifests_define()
    {
        var documents = Manifests();
        var workload = Workload(documents);
        var kind = Text(workload, "kind");
        Assert.Equal("3", Text(workload, "spec", "replicas"));

        var template = Node(workload, "spec", "template")!;
        var podLabels = Labels(Node(template, "metadata", "labels"));
        var selector = Labels(Node(workload, "spec", "selector", "matchLabels"));
        Assert.NotEmpty(selector);
        Assert.Equal(selector.OrderBy(l => l.Key), podLabels.Where(l => selector.ContainsKey(l.Key)).OrderBy(l => l.Key));
        Assert.True(selector.Count == podLabels.Count, $"the {kind}'s selector {Show(selector)} differs from its pod labels {Show(podLabels)}");

        var pod = Node(template, "spec")!;
        var serviceAccount = Text(pod, "serviceAccountName");
        Assert.True(documents.Any(d => Text(d.Doc, "kind") == "ServiceAccount" && Text(d.Doc, "metadata", "name") == serviceAccount),
            $"the pod runs as ServiceAccount '{serviceAccount}', which no manifest defines");

        var antiAffinity = Node(pod, "affinity", "podAntiAffinity");
        Assert.True(antiAffinity is not null, "the pods have no podAntiAffinity: three silos could land on one node");
        var antiAffinityLabels = Items(antiAffinity!, "requiredDuringSchedulingIgnoredDuringExecution")
            .Select(term => Labels(Node(term, "labelSelector", "matchLabels"))).ToList();
        Assert.Contains(antiAffinityLabels, labels => labels.Count > 0 && labels.All(l => podLabels.GetValueOrDefault(l.Key) == l.Value));

        if (kind == "StatefulSet")
        {
            var serviceName = Text(workload, "spec", "serviceName");
            var headless = documents.SingleOrDefault(d => Text(d.Doc, "kind") == "Service" && Text(d.Doc, "metadata", "name") == serviceName).Doc;
            Assert.True(headless is not null && Text(headless, "spec", "clusterIP") == "None", $"the StatefulSet's serviceName '{serviceName}' is not a headless Service");
        }

        var containers = Items(pod, "containers").ToList();
        Assert.Single(containers);
        var container = containers[0];
        Assert.True(Text(container, "image") is { Length: > 0 }, "the silo container has no image");
        var ports = ContainerPorts(container);
        Assert.NotEmpty(ports);
        Assert.True(Node(container, "resources", "requests") is not null, "the silo container requests no resources");
        Assert.True(Node(container, "resources", "limits", "memory") is not null, "the silo container has no memory limit");

        foreach (var probe in new[] { "readinessProbe", "livenessProbe", "startupProbe" })
        {
            var node = Node(container, probe);
            if (node is null && probe == "startupProbe") continue;
            Assert.True(node is not null, $"the silo container has no {probe}");
            // The silo serves no HTTP: a probe can only open one of its ports.
            var port = Text(node!, "tcpSocket", "port");
            Assert.True(port is not null, $"{probe} is not a tcpSocket probe");
            Assert.True(ports.ContainsKey(port!) || ports.ContainsValue(int.Parse(port!)), $"{probe} points at port '{port}', which the container does not declare ({Show(ports)})");
        }
        Assert.Equal("gateway", PortName(ports, Text(container, "readinessProbe", "tcpSocket", "port")!));

        var secrets = SecretKeys(documents);
        var env = Items(container, "env").ToList();
        foreach (var variable in env.Where(e => Node(e, "valueFrom", "secretKeyRef") is not null))
        {
            var secret = Text(variable, "valueFrom", "secretKeyRef", "name")!;
            var key = Text(variable, "valueFrom", "secretKeyRef", "key")!;
            Assert.True(secrets.TryGetValue(secret, out var keys), $"env {Text(variable, "name")} reads Secret '{secret}', which no manifest defines");
            Assert.True(keys!.Contains(key), $"env {Text(variable, "name")} reads key '{key}' of Secret '{secret}', which has {string.Join(", ", keys)}");
        }
        var advertised = env.SingleOrDefault(e => Text(e, "name") == "MESH_Mesh__Orleans__AdvertisedAddress");
        Assert.True(advertised is not null && Text(advertised, "valueFrom", "fieldRef", "fieldPath") == "status.podIP",
            "MESH_Mesh__Orleans__AdvertisedAddress must come from status.podIP");
        foreach (var secretSetting in new[] { "MESH_Mesh__Orleans__AdoNet__ConnectionString", "MESH_Mesh__Provenance__Key", "MESH_Mesh__Kafka__Settings__sasl.password" })
            Assert.True(env.Any(e => Text(e, "name") == secretSetting && Node(e, "valueFrom", "secretKeyRef") is not null),
                $"{secretSetting} is not set from a Secret");

        var configMaps = documents.Where(d => Text(d.Doc, "kind") == "ConfigMap")
            .ToDictionary(d => Text(d.Doc, "metadata", "name")!, d => Labels(Node(d.Doc, "data")).Keys.ToHashSet());
        foreach (var (source, name, key) in VolumeSources(pod))
        {
            var known = source == "configMap" ? configMaps : secrets;
            Assert.True(known.TryGetValue(name, out var keys), $"a volume reads {source} '{name}', which no manifest defines");
            if (key is not null) Assert.True(keys!.Contains(key), $"a volume reads key '{key}' of {source} '{name}', which has {string.Join(", ", keys)}");
        }
    }

    [Fact]
    public void The_services_and_the_disruption_budget_select_the_silos_and_their_declared_ports()
    {
        var documents = Manifests();
        var workload = Workload(documents);
        var podLabels = Labels(Node(workload, "spec", "template", "metadata", "labels"));
        var ports = ContainerPorts(Items(Node(workload, "spec", "template", "spec")!, "containers").Single());

        var services = documents.Where(d => Text(d.Doc, "kind") == "Service").Select(d => d.Doc).ToList();
        Assert.Contains(services, s => Text(s, "spec", "clusterIP") == "None");
        Assert.Contains(services, s => Items(s, "spec", "ports").Any(p => PortName(ports, Text(p, "targetPort")!) == "gateway"));
        foreach (var service in services)
        {
            var name = Text(service, "metadata", "name");
            var selector = Labels(Node(service, "spec", "selector"));
            Assert.True(selector.Count > 0 && selector.All(l => podLabels.GetValueOrDefault(l.Key) == l.Value), $"Service {name} does not select the silo pods ({Show(selector)})");
            foreach (var port in Items(service, "spec", "ports"))
            {
                var target = Text(port, "targetPort") ?? Text(port, "port")!;
                Assert.True(ports.ContainsKey(target) || (int.TryParse(target, out var number) && ports.ContainsValue(number)),
                    $"Service {name} targets port '{target}', which the silo container does not declare ({Show(ports)})");
            }
        }

        var budget = Single(documents, "PodDisruptionBudget");
        var budgetSelector = Labels(Node(budget, "spec", "selector", "matchLabels"));
        Assert.True(budgetSelector.Count > 0 && budgetSelector.All(l => podLabels.GetValueOrDefault(l.Key) == l.Value), "the PodDisruptionBudget does not select the silo pods");
        Assert.True(Text(budget, "spec", "maxUnavailable") is not null || Text(budget, "spec", "minAvailable") is not null, "the PodDisruptionBudget bounds nothing");
    }

    [Fact]
    public void The_config_map_holds_a_region_config_that_validates_and_the_full_mesh_example_topology()
    {
        var documents = Manifests();
        var configMap = Single(documents, "ConfigMap");
        var workload = Workload(documents);
        var pod = Node(workload, "spec", "template", "spec")!;
        var container = Items(pod, "containers").Single();

        // What the container reads: --config <mount>/region.json, the topology beside it.
        var mount = Items(container, "volumeMounts").Single(m => Text(m, "mountPath") == ConfigDirectory);
        var volume = Items(pod, "volumes").Single(v => Text(v, "name") == Text(mount, "name"));
        var mounted = VolumeSources(volume, inPod: false).ToList();
        var args = Items(container, "args").Select(a => ((YamlScalarNode)a).Value!).ToList();
        Assert.Equal(new[] { "--config", $"{ConfigDirectory}/region.json" }, args);
        Assert.Contains(("configMap", Text(configMap, "metadata", "name")!, "region.json"), mounted);
        Assert.Contains(("configMap", Text(configMap, "metadata", "name")!, "topology.yaml"), mounted);

        var temp = Directory.CreateTempSubdirectory("mesh-deploy-");
        try
        {
            var regionJson = Path.Combine(temp.FullName, "region.json");
            var topologyYaml = Path.Combine(temp.FullName, "topology.yaml");
            File.WriteAllText(regionJson, Text(configMap, "data", "region.json"));
            File.WriteAllText(topologyYaml, Text(configMap, "data", "topology.yaml"));

            Assert.Equal(File.ReadAllText(Path.Combine(Examples, "full-mesh", "topology.yaml")), File.ReadAllText(topologyYaml));
            var environment = WorkloadEnvironment(container);
            var region = BindRegion(regionJson, topologyYaml, environment);

            // Every ${VAR} of the topology is set in the pod, so the silo can reach every region it names.
            var topology = Topology.Load(File.ReadAllText(topologyYaml), topologyYaml).Topology!;
            foreach (var other in topology.Regions)
                other.Kafka.Resolve(other.Id, v => environment.GetValueOrDefault(v));
            Assert.Contains(topology.Regions, r => r.Id == region.Region);
            Assert.Equal(Text(Single(documents, "Namespace"), "metadata", "name"), $"mesh-{region.Region}");
            // Files the configuration names are in the mount.
            var mountedPaths = MountedPaths(volume);
            Assert.Contains($"{ConfigDirectory}/topology.yaml", mountedPaths);
            foreach (var file in region.Kafka.Settings.Where(s => s.Key.EndsWith(".location", StringComparison.Ordinal)))
                Assert.True(mountedPaths.Contains(file.Value), $"Mesh:Kafka:Settings:{file.Key} names {file.Value}, which the pod does not mount (it has {string.Join(", ", mountedPaths)})");
        }
        finally
        {
            temp.Delete(recursive: true);
        }
    }

    [Fact]
    public void The_dockerfile_builds_the_silo_runs_it_unprivileged_and_exposes_the_ports_of_the_configs_and_manifests()
    {
        var path = Path.Combine(Deploy, "Dockerfile");
        var instructions = DockerInstructions(File.ReadAllText(path));
        var stages = instructions.Where(i => i.Op == "FROM").Select(i => i.Args).ToList();
        Assert.True(stages.Count >= 2, "the Dockerfile is not multi-stage");
        Assert.Matches(@"^mcr\.microsoft\.com/dotnet/sdk:10\.0\S*\s+AS\s+\w+", stages[0]);
        Assert.Matches(@"^mcr\.microsoft\.com/dotnet/(runtime|aspnet):10\.0", stages[^1]);

        Assert.Contains(instructions, i => i.Op == "RUN" && Regex.IsMatch(i.Args, @"dotnet\s+publish\s+Silo/Mesh\.Silo\.csproj"));
        var finalStage = instructions.SkipWhile(i => i.Op != "FROM" || i.Args != stages[^1]).ToList();
        var user = finalStage.LastOrDefault(i => i.Op == "USER")?.Args;
        Assert.True(user is not null && user is not ("root" or "0"), $"the image runs as '{user ?? "root (no USER)"}'");
        var entrypoint = finalStage.Single(i => i.Op == "ENTRYPOINT").Args;
        Assert.Matches(@"^\[\s*""dotnet""\s*,\s*""Mesh\.Silo\.dll""", entrypoint);
        Assert.Contains($"{ConfigDirectory}/region.json", finalStage.Single(i => i.Op == "CMD").Args);

        // Everything the silo is built from is copied into the build stage.
        var copied = instructions.Where(i => i.Op == "COPY" && !i.Args.StartsWith("--from", StringComparison.Ordinal))
            .SelectMany(i => i.Args.Split(' ', StringSplitOptions.RemoveEmptyEntries).SkipLast(1)).ToList();
        foreach (var source in copied)
            Assert.True(File.Exists(Path.Combine(Root, source)) || Directory.Exists(Path.Combine(Root, source)), $"the Dockerfile copies {source}, which the repository does not have");
        // BuildKit reads Dockerfile.dockerignore beside the Dockerfile: it must not leave out what is copied.
        var ignored = File.ReadAllLines(Path.Combine(Deploy, "Dockerfile.dockerignore"))
            .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        foreach (var source in copied)
        {
            var segments = source.TrimEnd('/').Split('/');
            Assert.True(!ignored.Any(pattern => segments.Contains(pattern.Replace("**/", "")) && (pattern.StartsWith("**/", StringComparison.Ordinal) || segments[0] == pattern)),
                $"the Dockerfile copies {source}, which Dockerfile.dockerignore leaves out of the build context");
        }
        foreach (var project in ProjectClosure(Path.Combine(Root, "Silo", "Mesh.Silo.csproj")))
        {
            var relative = Path.GetRelativePath(Root, Path.GetDirectoryName(project)!).Replace('\\', '/') + "/";
            Assert.True(copied.Any(c => c.EndsWith('/') && relative.StartsWith(c, StringComparison.Ordinal)),
                $"the silo builds from {relative}, which the Dockerfile does not copy");
        }

        var exposed = instructions.Where(i => i.Op == "EXPOSE").SelectMany(i => i.Args.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(p => int.Parse(p.Split('/')[0])).ToHashSet();
        foreach (var relative in ExampleRegionConfigNames())
        {
            var file = Path.Combine(Examples, relative);
            var region = BindRegion(file, Path.Combine(Path.GetDirectoryName(file)!, "topology.yaml"), SiloEnvironment());
            Assert.True(exposed.SetEquals([region.Orleans.SiloPort, region.Orleans.GatewayPort, region.Metrics.Port]),
                $"the image exposes {string.Join(", ", exposed)}; {relative} uses silo {region.Orleans.SiloPort}, gateway {region.Orleans.GatewayPort} and metrics {region.Metrics.Port}");
        }
        var documents = Manifests();
        var declared = ContainerPorts(Items(Node(Workload(documents), "spec", "template", "spec")!, "containers").Single()).Values.ToHashSet();
        Assert.True(exposed.SetEquals(declared), $"the image exposes {string.Join(", ", exposed)}; the silo container declares {string.Join(", ", declared)}");
        var servicePorts = documents.Where(d => Text(d.Doc, "kind") == "Service")
            .SelectMany(d => Items(d.Doc, "spec", "ports")).Select(p => int.Parse(Text(p, "port")!)).ToHashSet();
        Assert.True(servicePorts.IsSubsetOf(exposed), $"the Services use ports {string.Join(", ", servicePorts)}; the image exposes {string.Join(", ", exposed)}");
    }

    [Fact]
    public void The_readme_links_to_the_deployment_guide_and_the_guide_names_the_files_it_describes()
    {
        var readme = File.ReadAllText(Path.Combine(Root, "README.md"));
        Assert.Contains("(deploy/regions/README.md)", readme);
        var guide = File.ReadAllText(Path.Combine(Deploy, "README.md"));
        foreach (Match link in MarkdownLink().Matches(guide))
        {
            var target = link.Groups[1].Value.Split('#')[0];
            if (target.Length == 0 || target.Contains("://", StringComparison.Ordinal)) continue;
            Assert.True(File.Exists(Path.Combine(Deploy, target)) || Directory.Exists(Path.Combine(Deploy, target)), $"deploy/regions/README.md links to {target}, which does not exist");
        }
        foreach (var variable in new[] { "MESH_Mesh__Orleans__AdoNet__ConnectionString", "MESH_Mesh__Provenance__Key", "--gateways" })
            Assert.Contains(variable, guide);
    }

    // ---- reading the files ----

    [GeneratedRegex(@"\]\(([^)\s]+)\)")]
    private static partial Regex MarkdownLink();

    private static readonly Lazy<string> TestCaPem = new(() =>
    {
        var (certificate, key) = TestCertificates.SelfSigned("CN=mesh-deploy-test-ca");
        using var _ = certificate;
        using var __ = key;
        var file = Path.Combine(Directory.CreateTempSubdirectory("mesh-deploy-ca-").FullName, "ca.crt");
        File.WriteAllText(file, certificate.ExportCertificatePem());
        return file;
    });

    private static RegionOptions BindRegion(string regionJson, string topologyFile, IReadOnlyDictionary<string, string> environment, bool validate = true)
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(regionJson, optional: false)
            .AddInMemoryCollection(environment
                .Where(e => e.Key.StartsWith("MESH_", StringComparison.Ordinal))
                .Select(e => KeyValuePair.Create<string, string?>(e.Key["MESH_".Length..].Replace("__", ":"), e.Value)))
            .Build();
        var region = new RegionOptions();
        configuration.GetSection(RegionOptions.Section).Bind(region);
        Assert.Equal($"{ConfigDirectory}/topology.yaml", region.Topology.File);
        // The file is mounted at /etc/mesh in the container; here it is beside the example.
        region.Topology.File = topologyFile;
        // So are the TLS files the settings name, which a silo checks exist and hold PEM: validated here with a test CA's
        // file in their place, then given back their paths (the tests compare them with the topology's).
        var mounted = region.Connections.Values.Append(region.Kafka)
            .SelectMany(cluster => cluster.Settings.Where(s => s.Key.EndsWith(".location", StringComparison.Ordinal) && s.Value.StartsWith(ConfigDirectory + "/", StringComparison.Ordinal))
                .Select(s => (Cluster: cluster, s.Key, s.Value)))
            .ToList();
        foreach (var (cluster, key, _) in mounted) cluster.Settings[key] = TestCaPem.Value;
        var problems = validate ? RegionOptionsValidator.Validate(region).ToList() : [];
        foreach (var (cluster, key, value) in mounted) cluster.Settings[key] = value;
        Assert.True(problems.Count == 0, $"{regionJson}:\n" + string.Join("\n", problems));
        return region;
    }

    /// <summary>The secrets as the silo's environment gets them from the manifests (with test values).</summary>
    private static IReadOnlyDictionary<string, string> SiloEnvironment() =>
        WorkloadEnvironment(Items(Node(Workload(Manifests()), "spec", "template", "spec")!, "containers").Single());

    private static Dictionary<string, string> WorkloadEnvironment(YamlNode container)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var variable in Items(container, "env"))
        {
            var name = Text(variable, "name")!;
            environment[name] = Text(variable, "value")
                ?? (Node(variable, "valueFrom", "fieldRef") is not null ? "10.20.30.40"
                : name.EndsWith("Provenance__Key", StringComparison.Ordinal) ? "test-mesh-key-0123456789abcdefghijklmnopqrstuvwxyz"
                : ExampleSecretValue(Text(variable, "valueFrom", "secretKeyRef", "name"), Text(variable, "valueFrom", "secretKeyRef", "key"))
                  ?? $"test-value-of-{Text(variable, "valueFrom", "secretKeyRef", "key")}");
        }
        return environment;
    }

    // A secret whose shape the silo checks (the PostgreSQL connection string) is taken from
    // secrets.example.yaml, so the example an operator copies is one the silo accepts.
    private static string? ExampleSecretValue(string? secret, string? key)
    {
        if (secret is null || key is null) return null;
        var example = Manifests().FirstOrDefault(d => Text(d.Doc, "kind") == "Secret" && Text(d.Doc, "metadata", "name") == secret);
        var value = example.Doc is null ? null : Text(example.Doc, "stringData", key);
        return value is null || value == "REPLACE" ? null : value;
    }

    private static List<(string File, YamlNode Doc)> Manifests()
    {
        var documents = new List<(string, YamlNode)>();
        foreach (var file in Directory.GetFiles(Kubernetes, "*.yaml", SearchOption.AllDirectories).Order())
        {
            var stream = new YamlStream();
            using (var reader = new StreamReader(file)) stream.Load(reader);
            var relative = Path.GetRelativePath(Kubernetes, file).Replace('\\', '/');
            documents.AddRange(stream.Documents.Where(d => d.RootNode is YamlMappingNode).Select(d => (relative, d.RootNode)));
        }
        return documents;
    }

    private static YamlNode Workload(List<(string File, YamlNode Doc)> documents) =>
        documents.Single(d => Text(d.Doc, "kind") is "StatefulSet" or "Deployment").Doc;

    private static YamlNode Single(List<(string File, YamlNode Doc)> documents, string kind)
    {
        var found = documents.Where(d => Text(d.Doc, "kind") == kind).ToList();
        Assert.True(found.Count == 1, $"expected one {kind} in {Kubernetes}, found {found.Count}");
        return found[0].Doc;
    }

    private static YamlNode? Node(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            if (node is not YamlMappingNode map || !map.Children.TryGetValue(new YamlScalarNode(key), out var next)) return null;
            node = next;
        }
        return node;
    }

    private static string? Text(YamlNode node, params string[] path) => (Node(node, path) as YamlScalarNode)?.Value;

    private static IEnumerable<YamlNode> Items(YamlNode node, params string[] path) =>
        Node(node, path) is YamlSequenceNode list ? list.Children : [];

    private static Dictionary<string, string> Labels(YamlNode? node) =>
        node is YamlMappingNode map
            ? map.Children.ToDictionary(c => ((YamlScalarNode)c.Key).Value!, c => (c.Value as YamlScalarNode)?.Value ?? "", StringComparer.Ordinal)
            : [];

    private static Dictionary<string, int> ContainerPorts(YamlNode container) =>
        Items(container, "ports").ToDictionary(p => Text(p, "name") ?? Text(p, "containerPort")!, p => int.Parse(Text(p, "containerPort")!), StringComparer.Ordinal);

    private static string PortName(Dictionary<string, int> ports, string port) =>
        ports.ContainsKey(port) ? port : ports.FirstOrDefault(p => p.Value.ToString() == port).Key ?? port;

    private static string Show<T>(Dictionary<string, T> map) => string.Join(", ", map.Select(e => $"{e.Key}={e.Value}"));

    private static Dictionary<string, HashSet<string>> SecretKeys(List<(string File, YamlNode Doc)> documents) =>
        documents.Where(d => Text(d.Doc, "kind") == "Secret").ToDictionary(
            d => Text(d.Doc, "metadata", "name")!,
            d => Labels(Node(d.Doc, "stringData")).Keys.Concat(Labels(Node(d.Doc, "data")).Keys).ToHashSet(StringComparer.Ordinal));

    /// <summary>(configMap|secret, name, key or null for all keys) for each volume of a pod, projected sources included.</summary>
    private static IEnumerable<(string Source, string Name, string? Key)> VolumeSources(YamlNode node, bool inPod = true)
    {
        foreach (var volume in inPod ? Items(node, "volumes") : [node])
        {
            var sources = Node(volume, "projected") is not null ? Items(volume, "projected", "sources").ToList() : [volume];
            foreach (var source in sources)
            {
                foreach (var (kind, nameKey) in new[] { ("configMap", "name"), ("secret", "name"), ("secret", "secretName") })
                {
                    if (Node(source, kind) is not { } reference || Text(reference, nameKey) is not { } name) continue;
                    var items = Items(reference, "items").ToList();
                    if (items.Count == 0) yield return (kind, name, null);
                    foreach (var item in items) yield return (kind, name, Text(item, "key"));
                }
            }
        }
    }

    private static HashSet<string> MountedPaths(YamlNode volume)
    {
        var sources = Node(volume, "projected") is not null ? Items(volume, "projected", "sources").ToList() : [volume];
        return sources.SelectMany(s => Items(s, "configMap", "items").Concat(Items(s, "secret", "items")))
            .Select(item => $"{ConfigDirectory}/{Text(item, "path") ?? Text(item, "key")}").ToHashSet(StringComparer.Ordinal);
    }

    private sealed record DockerInstruction(string Op, string Args);

    private static List<DockerInstruction> DockerInstructions(string text)
    {
        var instructions = new List<DockerInstruction>();
        var pending = "";
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (pending.Length == 0 && (line.TrimStart().StartsWith('#') || line.Trim().Length == 0)) continue;
            if (line.EndsWith('\\'))
            {
                pending += line[..^1] + " ";
                continue;
            }
            var whole = Regex.Replace((pending + line).Trim(), @"\s+", " ");
            pending = "";
            var space = whole.IndexOf(' ');
            instructions.Add(new DockerInstruction(whole[..space].ToUpperInvariant(), whole[(space + 1)..]));
        }
        return instructions;
    }

    private static HashSet<string> ProjectClosure(string project)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([Path.GetFullPath(project)]);
        while (pending.TryPop(out var next))
        {
            if (!seen.Add(next)) continue;
            foreach (var reference in XDocument.Load(next).Descendants("ProjectReference"))
                pending.Push(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(next)!, reference.Attribute("Include")!.Value.Replace('\\', '/'))));
        }
        return seen;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Mesh.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Mesh.sln above {AppContext.BaseDirectory}");
    }
}
