using Spectre.Console;

namespace Veracity.Cli;

/// <summary>Terminal helpers shared by the commands.</summary>
static class Ui
{
    public static Progress Progress() => AnsiConsole.Progress()
        .AutoClear(false)
        .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
            new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn());

    /// <summary>
    /// Runs work that first says how many items it will do (the first callback), then reports each one done (the
    /// second), under one progress bar titled <paramref name="title"/>.
    /// </summary>
    public static T Counted<T>(string title, Func<Action<int>, Action, T> work)
    {
        T result = default!;
        Progress().Start(progress =>
        {
            ProgressTask? task = null;
            result = work(n => task = progress.AddTask(title, maxValue: Math.Max(1, n)), () => task?.Increment(1));
        });
        return result;
    }
}
