using System.Text.Json;
using Veracity.Models;
using Veracity.Training;
using Veracity.Checkpoints;

namespace Veracity.Tests;

public class ConfigCompatibilityTests
{
    /// <summary>The config as checkpoints and config.json held it before the options were enums (main at 0b19481).</summary>
    const string OldConfig = """
        {"Preset":"demo","Model":"resnet18","Pretrained":true,"ImageSize":128,"Epochs":7,"BatchSize":32,"LearningRate":0.0005,
         "Optimizer":"adamw","WeightDecay":0.05,"Scheduler":"cosine","StepSize":4,"Gamma":0.85,"WarmupEpochs":1,"Limit":null,
         "Seed":0,"Workers":2,"LogEvery":10,"Precision":"bfloat16","SelectBy":"auc","HorizontalFlip":true,"VerticalFlip":true,
         "RotationDegrees":0,"ColorJitter":0.1,"RandomResizedCropMinScale":0,"BlurProbability":0.1,"JpegProbability":0.3,
         "MixupAlpha":0,"CutmixAlpha":0}
        """;

    [Fact]
    public void A_config_written_before_the_enums_reads_and_writes_back_the_same_strings()
    {
        var config = JsonSerializer.Deserialize<TrainConfig>(OldConfig)!;
        Assert.Equal((OptimizerKind.AdamW, Schedule.Cosine, Precision.BFloat16, SelectBy.Auc),
            (config.Optimizer, config.Scheduler, config.Precision, config.SelectBy));
        Assert.Equal(TrainConfig.DemoPreset with { Precision = Precision.BFloat16 }, config);

        string written = JsonSerializer.Serialize(config);
        foreach (string value in new[] { "\"adamw\"", "\"cosine\"", "\"bfloat16\"", "\"auc\"" })
            Assert.Contains(value, written);
    }

    [Fact]
    public void A_metrics_row_with_the_old_second_log_loss_name_still_reads()
    {
        const string oldRow = """
            {"Epoch":0,"TrainLoss":0.6873283410072326,"TrainAccuracy":0.655,"LearningRate":0.00045880104260405635,
             "ImagesPerSecond":38.08156935061252,"ValLoss":0.7399079648136193,"ValAccuracy":0.815,"ValAuc":0.881,
             "ValAp":0.8660148896191723,"ValEer":0.17000000000000004,"EerThreshold":0.2396956980228424,"ValLogLoss":0.7399079648136193}
            """;
        var row = JsonSerializer.Deserialize<EpochMetrics>(oldRow)!;
        Assert.Equal((0, 0.815, 0.881, 0.7399079648136193), (row.Epoch, row.ValAccuracy, row.ValAuc, row.ValLogLoss));
    }

    [Fact]
    public void An_unknown_option_value_is_refused_not_defaulted()
    {
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<TrainConfig>(OldConfig.Replace("\"cosine\"", "\"linear\"")));
        Assert.Throws<InvalidSettingException>(() => TrainConfig.FromPreset("fast"));
    }
}
