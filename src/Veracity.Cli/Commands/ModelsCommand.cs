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
        var table = new Table().AddColumns("name", "starting weights", "input", "what it is");
        foreach (var spec in Backbones.All)
        {
            string input = $"{spec.DefaultImageSize}px {spec.Normalize.Order.ToString().ToUpperInvariant()}"
                + (spec.Normalize.Scale == 1 ? " 0-255 minus mean" : " 0-1, ImageNet mean/std");
            table.AddRow(Markup.Escape(spec.Name + (spec.Name == Backbones.Default ? " (default)" : "")),
                Markup.Escape(spec.Weights), Markup.Escape(input), Markup.Escape(spec.Summary));
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("Backbones without pretrained weights start from random initialisation: expect far weaker results on small data.");
        return 0;
    }
}
