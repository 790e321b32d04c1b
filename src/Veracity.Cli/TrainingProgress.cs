using Spectre.Console;
using Veracity.Training;

namespace Veracity.Cli;

/// <summary>Draws a progress bar per epoch (loss, accuracy, images/s, ETA) and prints the trainer's log lines.</summary>
sealed class TrainingProgress(ProgressContext context) : ITrainingObserver
{
    ProgressTask? _epoch, _validation;

    public void EpochStarted(int epoch, int batches, int firstBatch)
    {
        _epoch = context.AddTask($"epoch {epoch}", maxValue: batches);
        _epoch.Value = firstBatch;
    }

    public void BatchDone(int epoch, int batch, double loss, double accuracy, double imagesPerSecond)
    {
        if (_epoch is null) return;
        _epoch.Description = $"epoch {epoch} loss {loss:F4} acc {accuracy:F1}% {imagesPerSecond:F1} img/s";
        _epoch.Value = batch + 1;
    }

    public void Validating(int epoch, int batches) =>
        _validation = context.AddTask(epoch < 0 ? "validation of the start" : $"validation {epoch}", maxValue: Math.Max(1, batches));

    public void ValidationBatchDone() => _validation?.Increment(1);

    public void Line(string text) => AnsiConsole.WriteLine(text);
}
