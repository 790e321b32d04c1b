using Veracity.Data;
using Veracity.Faces;
using Veracity.Imaging;

namespace Veracity.Inference;

/// <summary>One face that was scored: its box in the picture's pixels, the face detector's confidence and its deepfake probability.</summary>
public sealed record ScoredFace(float X, float Y, float Width, float Height, float Confidence, double FakeProbability)
{
    public static ScoredFace Of(Face face, double fakeProbability) =>
        new(face.X, face.Y, face.Width, face.Height, face.Score, fakeProbability);
}

/// <summary>One input of the network cut from a picture: the face it shows (null: the whole picture) and its normalised 3×S×S pixels.</summary>
public sealed record NetworkInput(Face? Face, float[] Chw);

/// <summary>
/// A picture made ready for the network: its size as its header gives it, one input per usable face (or the whole
/// picture), the faces too small to use, and why it has no input when it has none.
/// </summary>
public sealed record PreparedPicture(string Name, ImageHeader? Header, IReadOnlyList<NetworkInput> Inputs, int SmallFaces, string? Problem)
{
    public static PreparedPicture Failed(string name, string problem) => new(name, null, [], 0, problem);

    /// <summary>
    /// The picture's score from its inputs' scores (in <see cref="Inputs"/>' order): its most suspicious input's. On
    /// faces, <see cref="ScoredImage.Faces"/> lists each face (empty when the whole picture was scored).
    /// </summary>
    public ScoredImage Scored(ReadOnlySpan<float> scores, bool onFaces)
    {
        if (scores.Length != Inputs.Count) throw new ArgumentException($"{Name}: {scores.Length} scores for {Inputs.Count} inputs");
        if (Inputs.Count == 0) return new ScoredImage(Name, null, Problem) { Faces = onFaces ? [] : null, SmallFaces = SmallFaces };
        double max = double.MinValue;
        var faces = new List<ScoredFace>();
        for (int i = 0; i < scores.Length; i++)
        {
            max = Math.Max(max, scores[i]);
            if (Inputs[i].Face is { } face) faces.Add(ScoredFace.Of(face, scores[i]));
        }
        return new ScoredImage(Name, max, null) { Faces = onFaces ? faces : null, SmallFaces = SmallFaces };
    }
}

/// <summary>
/// Turns a picture into the network's inputs, the one way <c>predict</c>, <c>score</c> and <c>serve</c> all do it:
/// the header first (the pixel limit is checked before any pixel is decoded), then either the whole picture decoded
/// at the network's size, or every usable face found, aligned and cut (the whole picture when none is usable, or
/// nothing when the face settings skip such pictures). Opens the face detector once; safe to call from several threads.
/// </summary>
public sealed class PicturePreparer : IDisposable
{
    readonly Detector _detector;

    /// <param name="maxPixels">The largest picture decoded; a server may keep a lower limit than the decoder's default.</param>
    public PicturePreparer(Detector detector, FaceSettings? faces, long maxPixels = ImageDecoder.DefaultMaxPixels)
    {
        _detector = detector;
        Decoder = detector.Decoder(cutsFaces: faces is not null, maxPixels);
        Cropper = faces is null ? null : new FaceCropper(faces);
    }

    public ImageDecoder Decoder { get; }

    /// <summary>The face cutter when pictures are scored on their faces, else null.</summary>
    public FaceCropper? Cropper { get; }

    public bool OnFaces => Cropper is not null;

    /// <summary>Prepares the picture at <paramref name="path"/>, named <paramref name="name"/>; a picture that cannot be read gets its problem.</summary>
    public PreparedPicture Prepare(string path, string name)
    {
        try
        {
            return Prepare(ImageDecoder.ReadFile(path), name);
        }
        catch (ImageDecodeException e)
        {
            return PreparedPicture.Failed(name, e.Problem);
        }
    }

    /// <summary>Prepares a picture held in memory; throws <see cref="ImageDecodeException"/> for one that cannot be decoded.</summary>
    public PreparedPicture Prepare(byte[] bytes, string name)
    {
        var header = Decoder.ReadHeader(bytes, name);
        var transform = _detector.Transform;
        if (Cropper is null)
            return new PreparedPicture(name, header, [new NetworkInput(null, Chw(Decoder.Decode(bytes, name, (transform.Width, transform.Height))))],
                0, null);
        return Prepare(Decoder.Decode(bytes, name), name, header);
    }

    /// <summary>Prepares a picture already decoded at its own size (on faces).</summary>
    public PreparedPicture Prepare(RgbImage picture, string name, ImageHeader header)
    {
        if (Cropper is null) throw new InvalidOperationException("a decoded picture is prepared only on faces");
        var scan = Cropper.Scan(picture);
        var crops = Cropper.Crops(picture, scan, _detector.Transform.Width, largestOnly: false);
        string? problem = crops.Count > 0 ? null
            : scan.Small.Count > 0 ? $"only faces smaller than {Cropper.Settings.MinSize} px" : "no face found";
        return new PreparedPicture(name, header, crops.Select(c => new NetworkInput(c.Face, Chw(c.Image))).ToList(), scan.Small.Count, problem);
    }

    float[] Chw(RgbImage image)
    {
        var transform = _detector.Transform;
        var chw = new float[transform.FloatCount];
        transform.Normalize.WriteChw(image, chw);
        return chw;
    }

    /// <summary>
    /// Scores prepared pictures (every input, <see cref="ScoringOptions.BatchSize"/> at a time) and gives each its
    /// score as <see cref="PreparedPicture.Scored"/> says, in order.
    /// </summary>
    public IReadOnlyList<ScoredImage> Score(IReadOnlyList<PreparedPicture> pictures, ScoringOptions options)
    {
        var inputs = pictures.SelectMany(p => p.Inputs).ToList();
        var scores = new float[inputs.Count];
        int size = _detector.Info.ImageSize, floats = 3 * size * size;
        for (int first = 0; first < inputs.Count; first += options.BatchSize)
        {
            int count = Math.Min(options.BatchSize, inputs.Count - first);
            var chw = new float[count * floats];
            for (int i = 0; i < count; i++) inputs[first + i].Chw.CopyTo(chw, i * floats);
            _detector.Score(new PixelBatch(chw, count, size, size), options.Tta, options.Window).CopyTo(scores, first);
        }
        var results = new ScoredImage[pictures.Count];
        for (int k = 0, next = 0; k < pictures.Count; next += pictures[k].Inputs.Count, k++)
            results[k] = pictures[k].Scored(scores.AsSpan(next, pictures[k].Inputs.Count), OnFaces);
        return results;
    }

    public void Dispose() => Cropper?.Dispose();
}
