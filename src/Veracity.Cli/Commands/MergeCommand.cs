using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Inference;

namespace Veracity.Cli.Commands;

[Description("Merges the parts written by predict --shard I/N into one submission, in the order one run would have written it.")]
public sealed class MergeCommand : Command<MergeCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<PARTS>"), Description("Every shard's part (predict --shard I/N --out PART), each with its manifest " +
            "PART.shard.json beside it.")]
        public string[] Parts { get; init; } = [];
        [CommandOption("--out <FILE>")] public string Out { get; init; } = "submit.csv";
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var merged = ShardedPrediction.Merge(settings.Parts, settings.Out);
        AnsiConsole.MarkupLineInterpolated(
            $"Merged shards 0 to {merged.Shards - 1} of {merged.Shards} ({merged.Names} pictures): wrote {merged.Rows} predictions to [bold]{Path.GetFullPath(settings.Out)}[/]");
        if (merged.Failures > 0)
            AnsiConsole.MarkupLineInterpolated($"[yellow]{merged.Failures} image(s) could not be read[/] (as each part's --on-error said)");
        return 0;
    }
}
