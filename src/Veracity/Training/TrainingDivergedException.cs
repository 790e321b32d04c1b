namespace Veracity.Training;

/// <summary>A NaN or infinite loss: training stops rather than writing a broken model.</summary>
public sealed class TrainingDivergedException(int epoch, int batch, double learningRate, double loss)
    : VeracityException($"loss became {loss} at epoch {epoch}, batch {batch} (learning rate {learningRate:G3}); " +
                        "try a smaller learning rate. The last good checkpoint is kept.");
