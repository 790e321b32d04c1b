using Veracity.Imaging;

namespace Veracity.Data;

/// <summary>
/// Labelled images in the competition layout: rows of a label file, resolved under an image folder.
/// Nothing is held in memory but the names; each image is decoded when asked for.
/// </summary>
public sealed class ImageDataset
{
    readonly string[] _paths;

    public ImageDataset(string imageRoot, IReadOnlyList<LabelRow> rows, SampleTransform transform, ImageDecoder? decoder = null)
    {
        ImageRoot = imageRoot;
        Rows = rows;
        Transform = transform;
        Decoder = decoder ?? new ImageDecoder();
        _paths = rows.Select(row => ImagePaths.Resolve(imageRoot, row.Name)).ToArray();
    }

    /// <summary>Reads <paramref name="labelFile"/> and takes its first <paramref name="limit"/> rows when given (the reference's head(N)).</summary>
    public static ImageDataset FromLabelFile(string labelFile, string imageRoot, SampleTransform transform, int? limit = null)
    {
        var rows = LabelFile.ReadLabels(labelFile);
        ImagePaths.RequireFolder(imageRoot);
        return new ImageDataset(imageRoot, limit is int n ? rows.Take(n).ToList() : rows, transform);
    }

    public string ImageRoot { get; }
    public IReadOnlyList<LabelRow> Rows { get; }
    public SampleTransform Transform { get; }
    public ImageDecoder Decoder { get; }
    public int Count => Rows.Count;

    public string PathOf(int index) => _paths[index];

    /// <summary>Decodes sample <paramref name="index"/> as C×H×W floats into <paramref name="chw"/> and returns its label.</summary>
    public int Load(int index, Random rng, Span<float> chw)
    {
        Transform.Load(Decoder, _paths[index], rng, chw);
        return Rows[index].Target;
    }

    /// <summary>Sample <paramref name="index"/> as a C×H×W float tensor and its label; the caller disposes the tensor.</summary>
    public (TorchSharp.torch.Tensor Image, int Label) Get(int index, Random rng)
    {
        var chw = new float[Transform.FloatCount];
        int label = Load(index, rng, chw);
        return (TorchSharp.torch.tensor(chw, [3, Transform.Height, Transform.Width]), label);
    }
}
