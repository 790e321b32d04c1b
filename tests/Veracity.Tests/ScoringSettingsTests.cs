using Veracity.Cli.Commands;

namespace Veracity.Tests;

/// <summary>predict, evaluate, score and serve declare their scoring options once and check them the same way.</summary>
public class ScoringSettingsTests
{
    [Theory]
    [InlineData("torch,onnx", false)]
    [InlineData("torch onnx", false)]
    [InlineData("1", false)]
    [InlineData("ONNX", true)]
    [InlineData("torchbf16", true)]
    public void An_engine_is_one_name_for_predict_and_serve_alike(string engine, bool valid)
    {
        Assert.Equal(valid, new PredictCommand.Settings { Models = ["m.ckpt"], Images = "d", Out = "x.csv", EngineName = engine }.Validate().Successful);
        Assert.Equal(valid, new ServeCommand.Settings { Model = "m.ckpt", EngineName = engine }.Validate().Successful);
    }

    [Fact]
    public void Serve_refuses_a_queue_that_cannot_hold_one_full_request()
    {
        var result = new ServeCommand.Settings { Model = "m.ckpt", Queue = 8, MaxBatch = 4, MaxFiles = 16 }.Validate();
        Assert.False(result.Successful);
        Assert.Contains("--max-files", result.Message);
    }
}
