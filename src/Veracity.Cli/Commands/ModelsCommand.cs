using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Models;

namespace Veracity.Cli.Commands;

[Description("Lists the backbones Veracity can train, what pixels they expect and where their starting weights come from.")]
public sealed class ModelsCommand : Command
{
    public override int Execute(CommandContext context, CancellationToken cancellation)
    {
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
}
