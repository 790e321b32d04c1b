using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Inference;
using Veracity.Models;

namespace Veracity.Cli.Commands;

[Description("Lists the built-in detector and the backbones Veracity can train, what pixels they expect and where their starting weights come from.")]
public sealed class ModelsCommand : Command<ModelsCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--card"), Description("Print the built-in detector's model card: what it was trained on, its figures on the " +
            "sealed exam, its threshold, and what it does not detect.")]
        public bool Card { get; init; }
    }

    /// <summary>The model card ships beside the model (docs/model-card.md in the repository).</summary>
    public const string CardFile = "model-card.md";

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        if (settings.Card)
        {
            string card = Path.Combine(BuiltInModel.Folder, CardFile);
            if (!File.Exists(card)) throw new VeracityException($"no model card in this build ({card} is missing)");
            Console.WriteLine(File.ReadAllText(card));
            return 0;
        }
        ListBuiltIn();
        foreach (var spec in Backbones.All)
        {
            string input = $"{spec.Normalize.Order.ToString().ToUpperInvariant()}"
                + (spec.Normalize.Scale == 1 ? " 0-255 minus channel means" : " 0-1, ImageNet mean/std");
            AnsiConsole.MarkupLineInterpolated($"[bold]{spec.Name}[/]{(spec.Name == Backbones.Default ? " (default)" : "")}");
            AnsiConsole.MarkupLineInterpolated($"  {spec.Summary}");
            AnsiConsole.MarkupLineInterpolated($"  starting weights: {spec.Weights}");
            AnsiConsole.MarkupLineInterpolated($"  input: {input}; typical size {spec.DefaultImageSize} px");
        }
        AnsiConsole.MarkupLine("Backbones without pretrained weights start from random initialisation: expect far weaker results on small data.");
        return 0;
    }

    static void ListBuiltIn()
    {
        BuiltInModel builtIn;
        try
        {
            builtIn = BuiltInModel.Read();
        }
        catch (VeracityException e)
        {
            AnsiConsole.MarkupLineInterpolated($"[bold]built-in detector[/]: none ({e.Message})");
            return;
        }
        var info = Checkpoints.Checkpoint.ReadInfo(builtIn.Verified());
        AnsiConsole.MarkupLineInterpolated(
            $"[bold]built-in detector[/] (used when no --model is given): {info.Backbone}, {info.ImageSize} px, preset {info.Config.Preset}, threshold {info.Threshold:F4}");
        AnsiConsole.MarkupLineInterpolated($"  {builtIn.File}, sha256 {builtIn.Sha256[..16]}… (checked at every load); {builtIn.Recipe}");
        AnsiConsole.MarkupLineInterpolated($"  {builtIn.Caveat}; veracity models --card for the rest");
    }
}
