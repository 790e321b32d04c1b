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
    /// Says which convolutions this process found wrong on the CPU's fast path (they ran on a correct, slower one),
    /// except those already said (by training's log, or an earlier report).
    /// </summary>
    public static void ReportConvolutionFallbacks()
    {
        foreach (var failure in Models.ConvolutionCheck.NewFailures())
            AnsiConsole.MarkupLineInterpolated($"[yellow]note:[/] {failure}; it ran on a slower, correct path instead (see veracity doctor)");
    }

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
