using System.Globalization;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Veracity.Checkpoints;
using Veracity.Inference;

namespace Veracity.Tests;

public class TritonTests(TinyModel tiny) : IClassFixture<TinyModel>
{
    /// <summary>
    /// The config names, types and shapes every input and output as ONNX Runtime reads them from the model beside it,
    /// and its preprocessing parameters turn a decoded picture into the very floats Veracity feeds the network.
    /// </summary>
    [Fact]
    public void Export_triton_writes_a_config_that_matches_the_onnx_model_and_the_checkpoint()
    {
        using var dir = new TempDir();
        var export = Cli.Run("export", "--model", tiny.Checkpoint, "--triton", dir.Path, "--triton-name", "detector", "--max-batch", "16");
        Assert.True(export.ExitCode == 0, export.All);
        string folder = Path.Combine(dir.Path, "detector");
        var config = PbTxt.Parse(File.ReadAllText(Path.Combine(folder, TritonRepository.ConfigFile)));
        using var session = new InferenceSession(Path.Combine(folder, TritonRepository.Version, TritonRepository.ModelFile));

        Assert.Equal(("detector", "onnxruntime", "16"), (config.One("name"), config.One("backend"), config.One("max_batch_size")));
        Assert.NotNull(config.Message("dynamic_batching"));
        foreach (var (kind, metadata) in new[] { ("input", session.InputMetadata), ("output", session.OutputMetadata) })
        {
            var tensors = config.All(kind).Cast<PbTxt>().ToList();
            Assert.Equal(metadata.Keys.Order(), tensors.Select(t => t.One("name")).Order());
            foreach (var tensor in tensors)
            {
                var onnx = metadata[tensor.One("name")];
                Assert.Equal(-1, onnx.Dimensions[0]); // the batch dimension, which Triton's dims leave out
                Assert.Equal(onnx.Dimensions.Skip(1).Select(d => d.ToString(CultureInfo.InvariantCulture)), tensor.All("dims").Cast<string>());
                Assert.Equal(TritonTypes[onnx.ElementType], tensor.One("data_type"));
            }
        }

        var info = JsonSerializer.Deserialize<CheckpointInfo>(session.ModelMetadata.CustomMetadataMap[OnnxExport.MetadataKey])!;
        var parameters = config.All("parameters").Cast<PbTxt>()
            .ToDictionary(p => p.One("key"), p => p.Message("value")!.One("string_value"));
        int size = int.Parse(parameters["veracity_image_size"], CultureInfo.InvariantCulture);
        Assert.Equal(info.ImageSize, size);
        Assert.Equal(session.InputMetadata[OnnxExport.InputName].Dimensions[2], size);
        double[] Doubles(string key) => parameters[key].Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        double scale = Doubles("veracity_scale")[0];
        double[] mean = Doubles("veracity_mean"), std = Doubles("veracity_std");
        bool bgr = parameters["veracity_channel_order"] == "bgr";

        // A client following the parameters, in float64, against Veracity's own preprocessing of the same picture.
        using var detector = Detector.Load(tiny.Checkpoint, Engine.Onnx);
        string picture = Directory.GetFiles(tiny.ValImages).Order().First();
        var decoded = detector.Decoder(cutsFaces: false).Decode(picture, size, size);
        var veracity = new float[detector.Transform.FloatCount];
        detector.Transform.Load(detector.Decoder(cutsFaces: false), picture, new Random(0), veracity);
        int plane = size * size;
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < plane; i++)
            {
                double client = (decoded.Pixels[3 * i + (bgr ? 2 - c : c)] * scale - mean[c]) / std[c];
                Assert.Equal(client, veracity[c * plane + i], 1e-5);
            }
        Assert.Equal(info.Config.TestViews.ToString(CultureInfo.InvariantCulture), parameters["veracity_test_views"]);
        Assert.Equal(info.Threshold, double.Parse(parameters["veracity_threshold"], CultureInfo.InvariantCulture));
    }

    static readonly Dictionary<Type, string> TritonTypes = new() { [typeof(float)] = "TYPE_FP32" };
}

/// <summary>
/// A reader for the protobuf text format of Triton's config.pbtxt, enough to check one: fields <c>name: value</c>,
/// messages <c>name { ... }</c>, lists <c>name: [ a, b ]</c> or <c>name [ { ... }, { ... } ]</c>, <c>#</c> comments.
/// A field's values are strings (scalars, unquoted) and nested <see cref="PbTxt"/> messages.
/// </summary>
public sealed class PbTxt
{
    readonly List<(string Name, object Value)> _fields = [];

    public IEnumerable<object> All(string name) => _fields.Where(f => f.Name == name).Select(f => f.Value);
    public string One(string name) => (string)All(name).Single();
    public PbTxt? Message(string name) => All(name).OfType<PbTxt>().SingleOrDefault();

    public static PbTxt Parse(string text)
    {
        var tokens = System.Text.RegularExpressions.Regex.Matches(text, @"#[^\n]*|""(?:[^""\\]|\\.)*""|[{}\[\]:,]|[^\s{}\[\]:,#""]+")
            .Select(m => m.Value).Where(t => !t.StartsWith('#')).ToList();
        int at = 0;
        var message = Fields(tokens, ref at);
        Assert.Equal(tokens.Count, at);
        return message;
    }

    static PbTxt Fields(List<string> tokens, ref int at)
    {
        var message = new PbTxt();
        while (at < tokens.Count && tokens[at] != "}")
        {
            string name = tokens[at++];
            if (tokens[at] == ":") at++;
            if (tokens[at] == "[")
            {
                at++;
                while (tokens[at] != "]")
                {
                    message._fields.Add((name, Value(tokens, ref at)));
                    if (tokens[at] == ",") at++;
                }
                at++;
            }
            else message._fields.Add((name, Value(tokens, ref at)));
        }
        return message;
    }

    static object Value(List<string> tokens, ref int at)
    {
        string token = tokens[at++];
        if (token != "{") return token.StartsWith('"') ? token[1..^1] : token;
        var message = Fields(tokens, ref at);
        Assert.Equal("}", tokens[at++]);
        return message;
    }
}
