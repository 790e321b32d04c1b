using System.ComponentModel;
using System.Diagnostics;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Evaluation;
using Veracity.Inference;
using Veracity.Synth;
using Veracity.Training;
using Veracity.Checkpoints;

namespace Veracity.Cli.Commands;

[Description("The main job on built-in SYNTHETIC data: generate a data set, train a small detector, evaluate it and write a submission.")]
public sealed class DemoCommand : Command<DemoCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--out <DIR>"), Description("Where everything goes (default runs/demo-<time>).")]
        public string? Out { get; init; }

        [CommandOption("--count <N>"), Description("Synthetic images to generate.")]
        public int Count { get; init; } = 1000;

        [CommandOption("--seed <K>")]
        public int Seed { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        string root = Path.GetFullPath(settings.Out ?? Path.Combine("runs", "demo-" + DateTime.Now.ToString("yyyyMMdd-HHmmss")));
        string data = Path.Combine(root, "data"), run = Path.Combine(root, "run"), eval = Path.Combine(root, "eval");
        string submission = Path.Combine(root, "submit.csv");

        AnsiConsole.MarkupLine("[yellow]1/4 Synthetic data[/] (procedural scenes and manipulated copies, not real faces)");
        Ui.Progress().Start(progress =>
        {
            var task = progress.AddTask("Generating images", maxValue: settings.Count);
            SyntheticDataset.Generate(new SynthOptions(data, settings.Count, Size: 128, Seed: settings.Seed), () => task.Increment(1));
        });

        AnsiConsole.MarkupLine("[yellow]2/4 Training[/] resnet18 (ImageNet weights) at 128 px");
        var trainSettings = new TrainCommand.Settings
        {
            TrainLabels = Path.Combine(data, "trainset_label.txt"), TrainImages = Path.Combine(data, "trainset"),
            ValLabels = Path.Combine(data, "valset_label.txt"), ValImages = Path.Combine(data, "valset"), Out = run,
        };
        var result = TrainCommand.Run(trainSettings, cancellation, TrainConfig.DemoPreset with { Seed = settings.Seed });
        TrainCommand.Summarise(result);
        if (result.Outcome != TrainOutcome.Finished) return 130;

        AnsiConsole.MarkupLine("[yellow]3/4 Evaluating[/] the best checkpoint on the validation set");
        var evaluation = new InferenceOptions([result.BestCheckpoint], Engine.Auto, new ScoringOptions(Tta: 1, BatchSize: 32, Workers: 2));
        var report = EvaluateCommand.Evaluate(evaluation, trainSettings.ValLabels!, trainSettings.ValImages!, bySource: true);
        EvaluateCommand.Print(report);
        var files = Evaluator.Write(report, eval);

        AnsiConsole.MarkupLine("[yellow]4/4 Predicting[/] the validation folder with TTA 2");
        var (written, _, _) = PredictCommand.Predict(evaluation with { Scoring = evaluation.Scoring with { Tta = 2 } }, trainSettings.ValImages!,
            Prediction.ListImages(trainSettings.ValImages!), OnError.Fail, submission);

        var where = new Table().AddColumns("what", "where");
        where.AddRow("data (synthetic)", data);
        where.AddRow("run folder (config, log, metrics.jsonl, checkpoints)", run);
        foreach (string file in files) where.AddRow(Path.GetFileName(file), file);
        where.AddRow($"submission ({written} rows)", submission);
        AnsiConsole.Write(where);
        AnsiConsole.MarkupLineInterpolated($"Done in {clock.Elapsed.TotalMinutes:F1} min: validation ROC AUC [bold]{report.Overall.Auc:F4}[/].");
        return 0;
    }
}
