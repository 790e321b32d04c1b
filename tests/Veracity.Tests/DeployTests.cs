using System.Globalization;
using Veracity.Cli;
using Veracity.Inference;
using Veracity.Server;
using YamlDotNet.RepresentationModel;

namespace Veracity.Tests;

/// <summary>
/// The Kubernetes manifests in deploy/kubernetes, checked offline: kubectl validates only against a cluster's API
/// (without one, even --dry-run=client fails fetching its OpenAPI schema), so the test parses the YAML and checks what
/// ties the manifests to Veracity: the commands and options they run, ports and probes, the memory they are given
/// against what serve was measured to need, the metric the autoscaler reads, and the shards against the Job's indices.
/// </summary>
public class DeployTests
{
    static readonly string Kubernetes = Path.Combine(Repository.Root, "deploy", "kubernetes");

    /// <summary>Measured in bench/RESULTS.md, "serve under abuse": RSS once ready, and at peak under 16 abusive clients.</summary>
    const double ReadyMiB = 712, PeakMiB = 1204;

    [Fact]
    public void Serve_runs_behind_a_service_with_probes_on_healthz_the_measured_memory_and_scales_on_its_queue()
    {
        var documents = Documents("serve.yaml");
        Assert.Equal(["Deployment", "Service", "HorizontalPodAutoscaler"], documents.Select(d => Text(d, "kind")));
        var (deployment, service, autoscaler) = (documents[0], documents[1], documents[2]);
        var pod = Node(deployment, "spec", "template", "spec");
        var container = Single(pod, "containers");

        var args = Strings(container, "args");
        Assert.Equal("serve", args[0]);
        AssertDeclared<Veracity.Cli.Commands.ServeCommand.Settings>(args);
        int port = int.Parse(Text(Single(container, "ports"), "containerPort"), CultureInfo.InvariantCulture);
        Assert.Equal(port, new Uri(args[args.IndexOf("--urls") + 1]).Port);
        string portName = Text(Single(container, "ports"), "name");
        foreach (string probe in new[] { "startupProbe", "readinessProbe", "livenessProbe" })
            Assert.Equal(("/healthz", portName), (Text(container, probe, "httpGet", "path"), Text(container, probe, "httpGet", "port")));

        // The limit holds the ready process plus all that serve's default limits let it hold besides the model, at 256 px
        // with a decode slot per core it is given; the request, the peak measured under abuse.
        int cores = int.Parse(Text(container, "resources", "limits", "cpu"), CultureInfo.InvariantCulture);
        double bound = new ServeOptions { Model = "m.onnx", DecodeSlots = cores }.WorkingMemoryBound(imageSize: 256) / 1048576.0;
        Assert.InRange(MiB(Text(container, "resources", "limits", "memory")), ReadyMiB + bound, double.MaxValue);
        Assert.InRange(MiB(Text(container, "resources", "requests", "memory")), PeakMiB, double.MaxValue);
        Assert.Equal("true", Text(pod, "securityContext", "runAsNonRoot"));
        Assert.Equal("true", Text(container, "securityContext", "readOnlyRootFilesystem"));
        Assert.Equal(port.ToString(CultureInfo.InvariantCulture), Text(deployment, "spec", "template", "metadata", "annotations", "prometheus.io/port"));

        Assert.Equal(Pairs(Node(deployment, "spec", "template", "metadata", "labels")), Pairs(Node(service, "spec", "selector")));
        Assert.Equal(portName, Text(Single(service, "spec", "ports"), "targetPort"));

        Assert.Equal(("Deployment", Text(deployment, "metadata", "name")),
            (Text(autoscaler, "spec", "scaleTargetRef", "kind"), Text(autoscaler, "spec", "scaleTargetRef", "name")));
        var metric = Single(autoscaler, "spec", "metrics");
        string queueMetric = new ServerMetrics().QueueLength.Name;
        Assert.Equal(("Pods", queueMetric), (Text(metric, "type"), Text(metric, "pods", "metric", "name")));
        double target = double.Parse(Text(metric, "pods", "target", "averageValue"), CultureInfo.InvariantCulture);
        Assert.InRange(target, 1, new ServeOptions { Model = "m.onnx" }.QueueCapacity - 1); // scale before the queue refuses requests

        var rule = Single(Documents("prometheus-adapter-values.yaml")[0], "rules", "custom");
        Assert.Equal(queueMetric, Text(rule, "name", "as"));
        Assert.StartsWith(queueMetric + "{", Text(rule, "seriesQuery"));
    }

    [Fact]
    public void The_batch_job_scores_one_shard_per_index_and_the_merge_takes_every_shards_part()
    {
        var predict = Documents("batch-predict.yaml").Single();
        var merge = Documents("batch-merge.yaml").Single();
        Assert.Equal(("Job", "Indexed"), (Text(predict, "kind"), Text(predict, "spec", "completionMode")));
        int shards = int.Parse(Text(predict, "spec", "completions"), CultureInfo.InvariantCulture);
        var container = Single(predict, "spec", "template", "spec", "containers");
        var args = Strings(container, "args");
        Assert.Equal("predict", args[0]);
        AssertDeclared<Veracity.Cli.Commands.PredictCommand.Settings>(args);

        const string index = "$(JOB_COMPLETION_INDEX)";
        var variable = Single(container, "env");
        Assert.Equal(("JOB_COMPLETION_INDEX", "metadata.annotations['batch.kubernetes.io/job-completion-index']"),
            (Text(variable, "name"), Text(variable, "valueFrom", "fieldRef", "fieldPath")));
        string shard = args[args.IndexOf("--shard") + 1], part = args[args.IndexOf("--out") + 1];
        Assert.Contains(index, part);
        var expectedParts = Enumerable.Range(0, shards).Select(i => part.Replace(index, i.ToString(CultureInfo.InvariantCulture))).ToList();
        Assert.Equal(Enumerable.Range(0, shards).Select(i => new Shard(i, shards)),
            Enumerable.Range(0, shards).Select(i => Shard.Parse(shard.Replace(index, i.ToString(CultureInfo.InvariantCulture)))));

        var merging = Strings(Single(merge, "spec", "template", "spec", "containers"), "args");
        Assert.Equal("merge", merging[0]);
        AssertDeclared<Veracity.Cli.Commands.MergeCommand.Settings>(merging);
        Assert.Equal(expectedParts, merging.Skip(1).TakeWhile(arg => !arg.StartsWith("--")));
        string Claim(YamlNode job) => Text(Named(job, "data", "spec", "template", "spec", "volumes"), "persistentVolumeClaim", "claimName");
        Assert.Equal(Claim(predict), Claim(merge));
    }

    /// <summary>
    /// Every object names its API, kind and name, and every container runs the image deploy/image/build.sh tags by
    /// default, with the model where that script bakes it in.
    /// </summary>
    [Fact]
    public void Every_manifest_names_its_object_and_runs_the_image_the_build_script_makes()
    {
        string script = File.ReadAllText(Path.Combine(Repository.Root, "deploy", "image", "build.sh"));
        string image = System.Text.RegularExpressions.Regex.Match(script, @"image=""\$\{2:-([^}]+)\}""").Groups[1].Value;
        Assert.NotEmpty(image);
        foreach (string file in Directory.GetFiles(Kubernetes, "*.yaml").Where(f => !f.EndsWith("-values.yaml")))
            foreach (var document in Documents(Path.GetFileName(file)))
            {
                Assert.All(new[] { Text(document, "apiVersion"), Text(document, "kind"), Text(document, "metadata", "name") }, Assert.NotEmpty);
                if (Text(document, "kind") is not ("Deployment" or "Job")) continue;
                foreach (var container in ((YamlSequenceNode)Node(document, "spec", "template", "spec", "containers")).Children)
                {
                    Assert.Equal(image, Text(container, "image"));
                    var args = Strings(container, "args");
                    if (args.IndexOf("--model") is var model and >= 0) Assert.Contains($"$rootfs{args[model + 1]}", script);
                }
            }
    }

    /// <summary>Every option in a manifest's arguments is one the command declares (the command line refuses others).</summary>
    static void AssertDeclared<TSettings>(IReadOnlyList<string> args)
    {
        var declared = UnknownOption.DeclaredOptions(typeof(TSettings));
        Assert.All(args.Where(arg => arg.StartsWith("--")), option => Assert.Contains(option, declared));
    }

    static IReadOnlyList<YamlMappingNode> Documents(string file)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(Path.Combine(Kubernetes, file));
        stream.Load(reader);
        return stream.Documents.Select(document => (YamlMappingNode)document.RootNode).ToList();
    }

    static YamlNode Node(YamlNode node, params string[] path) =>
        path.Aggregate(node, (at, key) => ((YamlMappingNode)at).Children.TryGetValue(new YamlScalarNode(key), out var child)
            ? child
            : throw new KeyNotFoundException($"no '{key}' in {string.Join('.', path)}"));

    static string Text(YamlNode node, params string[] path) => ((YamlScalarNode)Node(node, path)).Value!;

    static YamlNode Single(YamlNode node, params string[] path) => ((YamlSequenceNode)Node(node, path)).Children.Single();

    /// <summary>The item of a list whose name is <paramref name="name"/> (a volume, a port).</summary>
    static YamlNode Named(YamlNode node, string name, params string[] path) =>
        ((YamlSequenceNode)Node(node, path)).Children.Single(child => Text(child, "name") == name);

    static List<string> Strings(YamlNode node, params string[] path) =>
        ((YamlSequenceNode)Node(node, path)).Children.Select(child => ((YamlScalarNode)child).Value!).ToList();

    static IReadOnlyList<(string, string)> Pairs(YamlNode node) =>
        ((YamlMappingNode)node).Children.Select(pair => (((YamlScalarNode)pair.Key).Value!, ((YamlScalarNode)pair.Value).Value!)).Order().ToList();

    /// <summary>A Kubernetes memory quantity in MiB (the binary suffixes the manifests use).</summary>
    static double MiB(string quantity) => quantity[^2..] switch
    {
        "Gi" => double.Parse(quantity[..^2], CultureInfo.InvariantCulture) * 1024,
        "Mi" => double.Parse(quantity[..^2], CultureInfo.InvariantCulture),
        _ => throw new FormatException($"'{quantity}': write memory in Mi or Gi"),
    };
}
