using Veracity.Data;
using Veracity.Faces;
using Veracity.Imaging;
using static TorchSharp.torch;

namespace Veracity.Inference;

/// <summary>One face that was scored: its box in the picture's pixels, the detector's confidence and the deepfake probability.</summary>
public sealed record ScoredFace(float X, float Y, float Width, float Height, float Confidence, double Probability);

/// <summary>
/// Prediction on faces: every usable face of each picture is aligned, cut and scored, and the picture's score is
/// its most suspicious face's. A picture without a usable face is scored whole, or left unscored, as the settings
/// say. Pictures are decoded and searched for faces in parallel, a batch of pictures at a time, so memory stays
/// bounded by the batch size.
/// </summary>
public static class FacePrediction
{
    sealed record Cut(int Image, FaceCrop Crop);

    public static PredictionResult Run(Detector detector, FaceSettings settings, string imageRoot, IReadOnlyList<string> names,
        ScoringOptions options, Action<int>? startBatches = null, Action? batchDone = null)
    {
        using var cropper = new FaceCropper(settings);
        var decoder = new ImageDecoder();
        int size = detector.Info.ImageSize;
        var results = new ScoredImage[names.Count];
        int chunks = (names.Count + options.BatchSize - 1) / options.BatchSize;
        startBatches?.Invoke(chunks);
        for (int start = 0; start < names.Count; start += options.BatchSize)
        {
            int count = Math.Min(options.BatchSize, names.Count - start);
            var cuts = new List<Cut>[count];
            var problems = new string?[count];
            var smallFaces = new int[count];
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Workers) }, k =>
            {
                try
                {
                    var picture = decoder.Decode(ImagePaths.Resolve(imageRoot, names[start + k]));
                    var scan = cropper.Scan(picture);
                    smallFaces[k] = scan.Small.Count;
                    cuts[k] = cropper.Crops(picture, scan, size, largestOnly: false).Select(c => new Cut(start + k, c)).ToList();
                    if (cuts[k].Count == 0) problems[k] = scan.Small.Count > 0 ? $"only faces smaller than {settings.MinSize} px" : "no face found";
                }
                catch (ImageDecodeException e)
                {
                    cuts[k] = [];
                    problems[k] = e.Problem;
                }
            });

            var all = cuts.SelectMany(c => c).ToList();
            var probabilities = new double[all.Count];
            for (int first = 0; first < all.Count; first += options.BatchSize)
            {
                var batch = all.Skip(first).Take(options.BatchSize).ToList();
                var chw = new float[batch.Count * 3 * size * size];
                for (int i = 0; i < batch.Count; i++)
                    detector.Info.Normalize.WriteChw(batch[i].Crop.Image, chw.AsSpan(i * 3 * size * size, 3 * size * size));
                using var images = tensor(chw, [batch.Count, 3, size, size]);
                float[] scores = detector.Score(images, options.Tta, options.Window);
                for (int i = 0; i < batch.Count; i++) probabilities[first + i] = scores[i];
            }

            var byPicture = all.Select((cut, i) => (cut, p: probabilities[i])).ToLookup(x => x.cut.Image);
            for (int k = 0; k < count; k++)
            {
                var faces = byPicture[start + k].ToList();
                var scored = faces.Where(x => x.cut.Crop.Face is not null)
                    .Select(x => new ScoredFace(x.cut.Crop.Face!.X, x.cut.Crop.Face.Y, x.cut.Crop.Face.Width, x.cut.Crop.Face.Height,
                        x.cut.Crop.Face.Score, x.p)).ToList();
                results[start + k] = faces.Count == 0
                    ? new ScoredImage(names[start + k], null, problems[k]) { Faces = [], SmallFaces = smallFaces[k] }
                    : new ScoredImage(names[start + k], faces.Max(x => x.p), null) { Faces = scored, SmallFaces = smallFaces[k] };
            }
            batchDone?.Invoke();
        }
        return new PredictionResult(results, [detector.Views(options.Tta)]);
    }
}
