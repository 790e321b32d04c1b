using Veracity;
using Spectre.Console;
using Spectre.Console.Cli;
using Veracity.Cli;

NativeHeap.LimitFragmentation();
NativeHeap.BackTensorsWithHugePages();
var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("veracity");
    config.UseStrictParsing();
    foreach (var command in VeracityCommands.All) command.AddTo(config);
    config.SetExceptionHandler((exception, _) =>
    {
        if (exception is CommandParseException parse && UnknownOption.Explain(parse, args) is { } unknown) exception = unknown;
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
