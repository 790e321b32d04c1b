using Spectre.Console.Cli;
using Veracity.Cli.Commands;

namespace Veracity.Cli;

/// <summary>A command as registered: its name, its settings type (which declares its options) and how to add it.</summary>
sealed record CommandEntry(string Name, Type Settings, Action<IConfigurator> AddTo);

/// <summary>
/// veracity's commands, registered from this one list so that the options of a command named on the command line can be
/// looked up (to suggest the one meant when an unknown one is typed) and tests can walk every command.
/// </summary>
static class VeracityCommands
{
    public static readonly IReadOnlyList<CommandEntry> All =
    [
        Entry<DemoCommand>("demo", "The main job on built-in SYNTHETIC data: generate, train, evaluate, predict."),
        Entry<SynthCommand>("synth",
            "Generate a SYNTHETIC labelled dataset (procedural scenes and manipulated copies) in the competition layout."),
        Entry<StatsCommand>("stats",
            "Check a labelled image folder: counts, class balance, missing/unlabelled files, sizes, formats, decode failures."),
        Entry<FacesCommand>("faces", "Find, align and cut each picture's largest face into a copy of the data set; " +
            "report pictures with 0, several or small faces."),
        Entry<PrepareCommand>("prepare", "Write a pre-scaled, lossless copy of a data set for faster training."),
        Entry<ModelsCommand>("models", "List the built-in detector and the backbones; --card prints the built-in's model card."),
        Entry<TrainCommand>("train", "Fine-tune a detector (presets: seed = the reference baseline, default = the team's recipe)."),
        Entry<AdaptCommand>("adapt", "Teach a trained detector (the built-in one by default) a new kind of forgery from a few examples."),
        Entry<EvaluateCommand>("evaluate", "ROC AUC, TPR@FPR 1e-3, AP, EER, accuracy, log-loss; ROC and score plots."),
        Entry<CrossvalCommand>("crossval",
            "Leave-one-source-out: train without each fake source, test on it; a table, crossval.json and a heatmap."),
        Entry<PredictCommand>("predict", "Write img_name,y_pred for a folder or list of images (with TTA), or one shard of them."),
        Entry<MergeCommand>("merge", "Merge the parts of predict --shard into one submission, checking they make one run."),
        Entry<ScoreCommand>("score", "Deepfake probability and verdict for single images."),
        Entry<DoctorCommand>("doctor", "CPU, versions, what auto picks here, and a numeric self-check against float64 (for bug reports)."),
        Entry<ServeCommand>("serve", "Serve a model over HTTP: web page, scoring and heatmap API, health and metrics."),
        Entry<ExportCommand>("export", "Write a checkpoint as an ONNX model for ONNX Runtime."),
    ];

    static CommandEntry Entry<TCommand>(string name, string description) where TCommand : class, ICommand =>
        new(name,
            typeof(TCommand).GetInterfaces().Single(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(ICommand<>))
                .GetGenericArguments()[0],
            config => config.AddCommand<TCommand>(name).WithDescription(description));
}
