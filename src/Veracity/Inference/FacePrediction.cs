using Veracity.Data;
using Veracity.Faces;

namespace Veracity.Inference;

/// <summary>
/// Prediction on faces: every usable face of each picture is aligned, cut and scored, and the picture's score is
/// its most suspicious face's (<see cref="PicturePreparer"/>). A picture without a usable face is scored whole, or
/// left unscored, as the settings say. Pictures are decoded and searched for faces in parallel, a batch of pictures
/// at a time, so memory stays bounded by the batch size.
/// </summary>
public static class FacePrediction
{
    public static PredictionResult Run(Detector detector, FaceSettings settings, string imageRoot, IReadOnlyList<string> names,
        ScoringOptions options, Action<int>? startBatches = null, Action? batchDone = null)
    {
        using var preparer = new PicturePreparer(detector, settings);
        var results = new List<ScoredImage>(names.Count);
        startBatches?.Invoke((names.Count + options.BatchSize - 1) / options.BatchSize);
        for (int start = 0; start < names.Count; start += options.BatchSize)
        {
            var pictures = new PreparedPicture[Math.Min(options.BatchSize, names.Count - start)];
            Parallel.For(0, pictures.Length, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Workers) }, k =>
                pictures[k] = preparer.Prepare(ImagePaths.Resolve(imageRoot, names[start + k]), names[start + k]));
            results.AddRange(preparer.Score(pictures, options));
            batchDone?.Invoke();
        }
        return new PredictionResult(results, [detector.Views(options.Tta)]);
    }
}
