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
        // The demo preset of that time still had the default preset's augmentations.
        Assert.Equal(TrainConfig.DemoPreset with { Precision = Precision.BFloat16, ColorJitter = 0.1, BlurProbability = 0.1, JpegProbability = 0.3 },
            config);

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

    /// <summary>A checkpoint description as the demo wrote it before the option enums and the rooms moved (2026-11-30, 08:16).</summary>
    const string OldCheckpointDescription = """
        {"Format":1,"Backbone":"resnet18","ImageSize":128,"Normalize":{"Order":1,"Scale":1,"Mean":[103.06,115.9,123.15],"Std":[1,1,1]},
         "Classes":["real","deepfake"],
         "InitialWeights":"ImageNet (CNTK ResNet18.onnx from NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1)",
         "Config":{"Preset":"demo","Model":"resnet18","Pretrained":true,"ImageSize":128,"Epochs":7,"BatchSize":32,"LearningRate":0.0005,
          "Optimizer":"adamw","WeightDecay":0.05,"Scheduler":"cosine","StepSize":4,"Gamma":0.85,"WarmupEpochs":1,"Limit":null,"Seed":0,
          "Workers":2,"LogEvery":10,"Precision":"bfloat16","SelectBy":"auc","HorizontalFlip":true,"VerticalFlip":true,"RotationDegrees":0,
          "ColorJitter":0.1,"RandomResizedCropMinScale":0,"BlurProbability":0.1,"JpegProbability":0.3,"MixupAlpha":0,"CutmixAlpha":0},
         "Data":{"TrainLabels":"data/trainset_label.txt","TrainImages":"data/trainset","ValLabels":"data/valset_label.txt",
          "ValImages":"data/valset","ValFraction":0.1},
         "Epoch":7,"NextBatch":0,"Progress":null,"BestScore":0.9319,
         "Metrics":{"Epoch":6,"TrainLoss":0.21373267769813536,"TrainAccuracy":0.92,"LearningRate":4.0283017735454064E-08,
          "ImagesPerSecond":42.38744912294089,"ValLoss":0.37528890494657996,"ValAccuracy":0.82,"ValAuc":0.9319,
          "ValAp":0.9337028732084006,"ValEer":0.16,"EerThreshold":0.2880883514881134,"ValLogLoss":0.37528890494657996},
         "Threshold":0.2880883514881134,"SavedAt":"2026-11-30T08:16:24.9929468Z"}
        """;

    [Fact]
    public void A_checkpoint_written_before_the_enums_loads_and_scores()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "old.ckpt");
        using (var model = Backbones.Create("resnet18", pretrained: false))
        using (var writer = new BinaryWriter(File.Create(path), System.Text.Encoding.UTF8))
        {
            // The file layout has not changed: magic, description, weights, whether optimiser state follows.
            writer.Write("VERACITY-CKPT\n"u8);
            writer.Write(OldCheckpointDescription);
            model.save(writer);
            writer.Write(false);
        }

        var (info, loaded) = Checkpoint.Load(path);
        loaded.Dispose();
        Assert.Equal((OptimizerKind.AdamW, Schedule.Cosine, Precision.BFloat16, SelectBy.Auc),
            (info.Config.Optimizer, info.Config.Scheduler, info.Config.Precision, info.Config.SelectBy));
        Assert.Equal(0.37528890494657996, info.Metrics!.ValLogLoss);
        Assert.Equal(Imaging.Normalize.CntkBgr, info.Normalize);
        using var detector = Inference.Detector.Load(path, Inference.Engine.Torch);
        using var images = TorchSharp.torch.zeros(2, 3, 128, 128);
        Assert.Equal(2, detector.Score(images).Length);
    }

    [Fact]
    public void An_unknown_option_value_is_refused_not_defaulted()
    {
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<TrainConfig>(OldConfig.Replace("\"cosine\"", "\"linear\"")));
        Assert.Throws<InvalidSettingException>(() => TrainConfig.FromPreset("fast"));
        foreach (var preset in TrainConfig.Presets) preset.Validate();
    }
}
