using Veracity;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Cli.Commands;

NativeHeap.LimitFragmentation();
NativeHeap.BackTensorsWithHugePages();
var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("veracity");
    config.AddCommand<DemoCommand>("demo")
        .WithDescription("The main job on built-in SYNTHETIC data: generate, train, evaluate, predict.");
    config.AddCommand<SynthCommand>("synth")
        .WithDescription("Generate a SYNTHETIC labelled dataset (procedural scenes and manipulated copies) in the competition layout.");
    config.AddCommand<StatsCommand>("stats")
        .WithDescription("Check a labelled image folder: counts, class balance, missing/unlabelled files, sizes, formats, decode failures.");
    config.AddCommand<FacesCommand>("faces")
        .WithDescription("Find, align and cut each picture's largest face into a copy of the data set; " +
            "report pictures with 0, several or small faces.");
    config.AddCommand<PrepareCommand>("prepare").WithDescription("Write a pre-scaled, lossless copy of a data set for faster training.");
    config.AddCommand<ModelsCommand>("models").WithDescription("List the backbones and their starting weights.");
    config.AddCommand<TrainCommand>("train")
        .WithDescription("Fine-tune a detector (presets: seed = the reference baseline, default = the team's recipe).");
    config.AddCommand<EvaluateCommand>("evaluate").WithDescription("ROC AUC, TPR@FPR 1e-3, AP, EER, accuracy, log-loss; ROC and score plots.");
    config.AddCommand<CrossvalCommand>("crossval")
        .WithDescription("Leave-one-source-out: train without each fake source, test on it; a table, crossval.json and a heatmap.");
    config.AddCommand<PredictCommand>("predict").WithDescription("Write img_name,y_pred for a folder or list of images (with TTA).");
    config.AddCommand<ScoreCommand>("score").WithDescription("Deepfake probability and verdict for single images.");
    config.AddCommand<DoctorCommand>("doctor")
        .WithDescription("CPU, versions, what auto picks here, and a numeric self-check against float64 (for bug reports).");
    config.AddCommand<ServeCommand>("serve").WithDescription("Serve a model over HTTP: web page, scoring and heatmap API, health and metrics.");
    config.AddCommand<ExportCommand>("export").WithDescription("Write a checkpoint as an ONNX model for ONNX Runtime.");
    config.SetExceptionHandler((exception, _) =>
    {
        if (exception is VeracityException or CommandAppException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {exception.Message}");
            return 2;
        }
        AnsiConsole.WriteException(exception, ExceptionFormats.ShortenEverything);
        return 3;
    });
});
return app.Run(args);
