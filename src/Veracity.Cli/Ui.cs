using Spectre.Console;

namespace Veracity.Cli;

/// <summary>Terminal helpers shared by the commands.</summary>
static class Ui
{
    public static Progress Progress() => AnsiConsole.Progress()
        .AutoClear(false)
        .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
            new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn());
}
