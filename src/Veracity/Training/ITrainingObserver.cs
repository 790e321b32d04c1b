namespace Veracity.Training;

/// <summary>What a caller sees while training runs (the CLI draws progress bars from it).</summary>
public interface ITrainingObserver
{
    void EpochStarted(int epoch, int batches, int firstBatch);
    void BatchDone(int epoch, int batch, double loss, double accuracy, double imagesPerSecond);
    void Validating(int epoch, int batches);
    void ValidationBatchDone();
    /// <summary>A line for the terminal; the same line goes to the run's train.log.</summary>
    void Line(string text);
}
