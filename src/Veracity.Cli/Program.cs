using Veracity;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Cli.Commands;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("veracity");
    config.AddCommand<SynthCommand>("synth")
        .WithDescription("Generate a SYNTHETIC labelled dataset (procedural scenes and manipulated copies) in the competition layout.");
    config.AddCommand<StatsCommand>("stats")
        .WithDescription("Check a labelled image folder: counts, class balance, missing/unlabelled files, sizes, formats, decode failures.");
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
