using System.Globalization;
using Veracity.Data;

namespace Veracity.Inference;

/// <summary>What to do with an image that is missing or cannot be decoded.</summary>
public enum OnError { Fail, Skip, Neutral }

/// <summary>
/// An image's score, or why it has none. On faces, <see cref="Faces"/> lists each face scored (empty when the whole
/// picture was scored for want of a usable face) and <see cref="SmallFaces"/> counts faces too small to use.
/// </summary>
public sealed record ScoredImage(string Name, double? Score, string? Problem)
{
    public IReadOnlyList<ScoredFace>? Faces { get; init; }
    public int SmallFaces { get; init; }
}

/// <summary>
/// How images are scored: test-time augmentation views (null: each model's own, its training's
/// <see cref="Checkpoints.TrainConfig.TestViews"/>), batch size, decoding threads, and the scoring window (0: the whole
/// picture; else each picture's most suspicious window of that size, <see cref="Models.Scoring"/>).
/// </summary>
public sealed record ScoringOptions(int? Tta = null, int BatchSize = 32, int Workers = 2, int Window = 0);

/// <summary>
/// Scores for a list of images in input order; <see cref="Failures"/> counts those that could not be read.
/// <see cref="Views"/> gives the test-time views of each model whose scores these are.
/// </summary>
public sealed record PredictionResult(IReadOnlyList<ScoredImage> Images, IReadOnlyList<int> Views)
{
    public int Failures => Images.Count(i => i.Problem is not null);
}

public static class Prediction
{
    public const double NeutralScore = 0.5;
    static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif"];

    /// <summary>Image files under <paramref name="folder"/> (recursively), as sorted relative names.</summary>
    public static IReadOnlyList<string> ListImages(string folder)
    {
        ImagePaths.RequireFolder(folder);
        return Directory.EnumerateFiles(folder, "*", new EnumerationOptions { RecurseSubdirectories = true })
            .Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            .Select(f => Path.GetRelativePath(folder, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Scores every image of <paramref name="names"/> as <paramref name="options"/> say, on its faces when
    /// <paramref name="faces"/> is given (<see cref="FacePrediction"/>). With <see cref="OnError.Fail"/>, missing
    /// files fail before any work and undecodable ones after the pass, naming them all.
    /// </summary>
    public static PredictionResult Run(Detector detector, string imageRoot, IReadOnlyList<string> names, ScoringOptions options,
        OnError onError, Action<int>? startBatches = null, Action? batchDone = null, Faces.FaceSettings? faces = null)
    {
        if (names.Count == 0) throw new VeracityException($"no images to score in {imageRoot}");
        if (onError == OnError.Fail)
            FailIfAny(names.Where(name => !File.Exists(ImagePaths.Resolve(imageRoot, name))).Select(name => $"{name}: file not found").ToList());
        var result = faces is null
            ? OnWholeImages(detector, imageRoot, names, options, startBatches, batchDone)
            : FacePrediction.Run(detector, faces, imageRoot, names, options, startBatches, batchDone);
        if (onError == OnError.Fail)
            FailIfAny(result.Images.Where(i => i.Problem is not null).Select(i => $"{i.Name}: {i.Problem}").ToList());
        return result;
    }

    static PredictionResult OnWholeImages(Detector detector, string imageRoot, IReadOnlyList<string> names, ScoringOptions options,
        Action<int>? startBatches, Action? batchDone)
    {
        var dataset = new ImageDataset(imageRoot, names, targets: null, detector.Transform, detector.Decoder(cutsFaces: false));

        var loader = new DataLoader(dataset, new LoaderOptions(options.BatchSize, Workers: options.Workers, TolerateUnreadable: true));
        var results = new ScoredImage[names.Count];
        startBatches?.Invoke(loader.BatchCount);
        foreach (var batch in loader.Decoded())
            using (batch)
            {
                float[] scores = detector.Score(batch.Images, options.Tta, options.Window);
                for (int k = 0; k < batch.Size; k++)
                {
                    string name = names[batch.Indices[k]];
                    results[batch.Indices[k]] = batch.Failures.TryGetValue(k, out string? problem)
                        ? new ScoredImage(name, null, problem)
                        : new ScoredImage(name, scores[k], null);
                }
                batchDone?.Invoke();
            }
        return new PredictionResult(results, [detector.Views(options.Tta)]);
    }

    /// <summary>
    /// Several models' scores of the same images (same names, same order) as one: each image's mean score. An image
    /// that one model could not read has no score. Each model cuts its own faces, so the mean keeps no face list.
    /// </summary>
    public static PredictionResult Mean(IReadOnlyList<PredictionResult> byModel)
    {
        if (byModel.Count == 0) throw new ArgumentException("an ensemble needs at least one model's scores", nameof(byModel));
        if (byModel.Count == 1) return byModel[0];
        var first = byModel[0].Images;
        if (byModel.Any(r => !r.Images.Select(i => i.Name).SequenceEqual(first.Select(i => i.Name))))
            throw new ArgumentException("an ensemble's models must score the same images in the same order", nameof(byModel));
        return new PredictionResult(first.Select((image, k) =>
        {
            var scores = byModel.Select(r => r.Images[k]).ToList();
            string? problem = scores.Select(i => i.Problem).FirstOrDefault(p => p is not null);
            return new ScoredImage(image.Name, problem is null ? scores.Average(i => i.Score!.Value) : null, problem);
        }).ToList(), byModel.SelectMany(r => r.Views).ToList());
    }

    /// <summary>One JSON line per image, atomically: name, score (or problem) and, on faces, each face scored and the small ones.</summary>
    public static void WriteDetails(string path, PredictionResult result) =>
        AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false), leaveOpen: true) { NewLine = "\n" };
            var json = new System.Text.Json.JsonSerializerOptions { PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower };
            foreach (var image in result.Images)
                writer.WriteLine(System.Text.Json.JsonSerializer.Serialize(new
                {
                    image.Name, image.Score, image.Problem, image.Faces, image.SmallFaces,
                    WholeImage = image.Faces is { Count: 0 } && image.Score is not null,
                }, json));
        });

    static void FailIfAny(IReadOnlyList<string> problems)
    {
        if (problems.Count == 0) return;
        throw new VeracityException($"{problems.Count} image(s) cannot be scored (skip them or score them neutral to go on):\n  "
            + string.Join("\n  ", problems.Take(20)) + (problems.Count > 20 ? $"\n  ... and {problems.Count - 20} more" : ""));
    }

    /// <summary>
    /// Writes img_name,y_pred in input order, atomically; failed images are left out (skip) or scored 0.5 (neutral).
    /// Scores are written to round-trip precision: rounding (it was 6 decimals) made ties that the offline AUC and
    /// TPR at FPR 1e-3 never saw.
    /// </summary>
    public static int WriteSubmission(string path, PredictionResult result, OnError onError)
    {
        var rows = WrittenRows(result, onError)
            .Select(k => result.Images[k])
            .Select(i => (IReadOnlyList<string>)[i.Name, (i.Score ?? NeutralScore).ToString("R", CultureInfo.InvariantCulture)])
            .ToList();
        CsvFiles.Write(path, [LabelFile.NameColumn, LabelFile.PredictionColumn], rows);
        return rows.Count;
    }

    /// <summary>The positions in <paramref name="result"/> of the images a submission has a row for: all but those skipped.</summary>
    public static IEnumerable<int> WrittenRows(PredictionResult result, OnError onError) =>
        Enumerable.Range(0, result.Images.Count).Where(k => result.Images[k].Score is not null || onError == OnError.Neutral);
}
