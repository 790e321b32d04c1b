using Veracity.Imaging;

namespace Veracity.Data;

/// <summary>
/// Images in the competition layout: names resolved under an image folder, with their targets when the images are
/// labelled (training, evaluation) and without them when they are not (prediction, scoring). Nothing is held in
/// memory but the names; each image is decoded when asked for.
/// </summary>
public sealed class ImageDataset
{
    readonly string[] _paths;

    /// <param name="targets">1 = deepfake, 0 = real, one per name; null for images whose class is not known.</param>
    public ImageDataset(string imageRoot, IReadOnlyList<string> names, IReadOnlyList<int>? targets, SampleTransform transform,
        ImageDecoder? decoder = null)
    {
        if (targets is not null && targets.Count != names.Count) throw new ArgumentException("one target per name");
        ImageRoot = imageRoot;
        Names = names;
        Targets = targets;
        Transform = transform;
        Decoder = decoder ?? new ImageDecoder();
        _paths = names.Select(name => ImagePaths.Resolve(imageRoot, name)).ToArray();
    }

    /// <summary>Labelled rows (a label file's) under <paramref name="imageRoot"/>.</summary>
    public static ImageDataset Labelled(string imageRoot, IReadOnlyList<LabelRow> rows, SampleTransform transform, ImageDecoder? decoder = null) =>
        new(imageRoot, rows.Select(r => r.Name).ToList(), rows.Select(r => r.Target).ToList(), transform, decoder);

    /// <summary>Reads <paramref name="labelFile"/> and takes its first <paramref name="limit"/> rows when given (the reference's head(N)).</summary>
    public static ImageDataset FromLabelFile(string labelFile, string imageRoot, SampleTransform transform, int? limit = null)
    {
        var rows = LabelFile.ReadLabels(labelFile);
        ImagePaths.RequireFolder(imageRoot);
        return Labelled(imageRoot, limit is int n ? rows.Take(n).ToList() : rows, transform);
    }

    public string ImageRoot { get; }
    public IReadOnlyList<string> Names { get; }
    /// <summary>The class of each image, or null when the images are unlabelled.</summary>
    public IReadOnlyList<int>? Targets { get; }
    public SampleTransform Transform { get; }
    public ImageDecoder Decoder { get; }
    public int Count => Names.Count;

    public string PathOf(int index) => _paths[index];

    /// <summary>Decodes sample <paramref name="index"/> as C×H×W floats into <paramref name="chw"/>.</summary>
    public void Load(int index, Random rng, Span<float> chw) => Transform.Load(Decoder, _paths[index], rng, chw);

    /// <summary>Sample <paramref name="index"/> as a C×H×W float tensor; the caller disposes it.</summary>
    public TorchSharp.torch.Tensor Get(int index, Random rng)
    {
        var chw = new float[Transform.FloatCount];
        Load(index, rng, chw);
        return TorchSharp.torch.tensor(chw, [3, Transform.Height, Transform.Width]);
    }
}
