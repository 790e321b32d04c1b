using System.Text.Json;
using Veracity.Data;
using Veracity.Imaging;

namespace Veracity.Synth;

/// <summary>What <see cref="ManipulatedReals.Generate"/> reads and makes.</summary>
/// <param name="PerKind">Fakes made per manipulation kind, each from a different real picture where there are enough.</param>
/// <param name="Quality">The JPEG quality every written picture (copied or made) is saved at.</param>
public sealed record FromRealsOptions(string Labels, string Images, string OutDir, IReadOnlyList<string> Kinds, int PerKind = 500,
    int Seed = 0, int Quality = 90);

/// <summary>
/// Makes extra fake sources from a data set's real pictures with <see cref="Manipulations"/>: for a user who has
/// only real faces, and for training on manipulations beside the generators a data set has. Writes a new data set
/// in OUT: every input picture and every made fake, all re-encoded at one JPEG quality (so the made fakes carry no
/// double-compression tell that their reals lack), and <c>labels.csv</c> (img_name,target,source) whose made fakes
/// have the source <c>own-KIND</c>. A splice pastes the face region of another real picture of the set, blurred
/// by a lower resolution, through a feathered ellipse: a crude face swap.
/// </summary>
public static class ManipulatedReals
{
    public const string LabelFile = "labels.csv", SourcePrefix = "own-";

    public static IReadOnlyDictionary<string, int> Generate(FromRealsOptions options, Action<int>? started = null, Action? pictureWritten = null)
    {
        foreach (string kind in options.Kinds)
            if (!Manipulations.All.Contains(kind))
                throw new VeracityException($"unknown manipulation '{kind}'; choose from {string.Join(", ", Manipulations.All)}");
        if (options.PerKind < 1) throw new VeracityException("make at least one fake per kind");
        if (options.Quality is < 1 or > 100) throw new VeracityException("the JPEG quality must be between 1 and 100");
        ImagePaths.RequireFolder(options.Images);
        if (Path.GetFullPath(Path.Combine(options.OutDir, "images")).TrimEnd('/') == Path.GetFullPath(options.Images).TrimEnd('/'))
            throw new VeracityException($"{options.OutDir} would overwrite the input pictures in {options.Images}: write to another folder");
        var rows = Veracity.Data.LabelFile.ReadLabels(options.Labels);
        var reals = rows.Where(r => r.Target == 0).OrderBy(r => r.Name, StringComparer.Ordinal).ToArray();
        if (reals.Length < 2) throw new VeracityException($"{options.Labels} has {reals.Length} real pictures; manipulations need at least two");
        new Random(Seeds.Mix(options.Seed, Seeds.Salt.ManipulatedReals)).Shuffle(reals);
        // A splice's donor comes from the same source where it can: the same framing, so the pasted face fits.
        var bySource = reals.GroupBy(r => r.Source).ToDictionary(g => g.Key, g => g.Select(r => r.Name).ToArray());
        var everyReal = reals.Select(r => r.Name).ToArray();
        string DonorFor(LabelRow original, int i)
        {
            var pool = bySource[original.Source].Length > 1 ? bySource[original.Source] : everyReal;
            int at = Array.IndexOf(pool, original.Name);
            return pool[(at + 1 + i % (pool.Length - 1)) % pool.Length];
        }

        var made = options.Kinds.SelectMany((kind, k) => Enumerable.Range(0, options.PerKind).Select(i =>
        {
            var original = reals[(k * options.PerKind + i) % reals.Length];
            string name = $"{SourcePrefix}{kind}/{Path.ChangeExtension(original.Name.Replace('/', '_'), ".jpg")}";
            return (Name: name, Kind: kind, Original: original.Name, Donor: DonorFor(original, i),
                Seed: Seeds.Mix(options.Seed, Seeds.Salt.ManipulatedReals, k, i));
        })).ToList();
        if (made.DistinctBy(m => m.Name).Count() < made.Count)
            throw new VeracityException($"--per-kind {options.PerKind} is more than the {reals.Length} real pictures can give");
        static string Renamed(string name) => Path.ChangeExtension(name, ".jpg");
        var labels = rows.Select(r => r with { Name = Renamed(r.Name) })
            .Concat(made.Select(m => new LabelRow(m.Name, 1, 0, SourcePrefix + m.Kind))).ToList();
        var renamedTwice = labels.GroupBy(r => r.Name).FirstOrDefault(g => g.Count() > 1);
        if (renamedTwice is not null) throw new VeracityException($"two pictures would both be written as {renamedTwice.Key}");
        started?.Invoke(labels.Count);

        string images = Path.Combine(options.OutDir, "images");
        var decoder = new ImageDecoder();
        void Write(string name, RgbImage picture)
        {
            string path = Path.Combine(images, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            AtomicFile.WriteAllBytes(path, SkiaPixels.EncodeJpeg(picture, options.Quality));
            pictureWritten?.Invoke();
        }
        Parallel.ForEach(rows, row => Write(Renamed(row.Name), decoder.Decode(Path.Combine(options.Images, row.Name))));
        Parallel.ForEach(made, m =>
        {
            var picture = decoder.Decode(Path.Combine(options.Images, m.Original));
            var donor = m.Kind == Manipulations.Splice ? decoder.Decode(Path.Combine(options.Images, m.Donor), picture.Width, picture.Height) : null;
            Manipulations.Apply(m.Kind, picture, new Random(m.Seed), donor);
            Write(m.Name, picture);
        });

        CsvFiles.WriteLabels(Path.Combine(options.OutDir, LabelFile), labels);
        AtomicFile.WriteAllBytes(Path.Combine(options.OutDir, "synth.json"), JsonSerializer.SerializeToUtf8Bytes(new
        {
            note = "Every picture of the input data set, plus manipulated copies of its reals (sources own-<kind>), all saved at one JPEG quality.",
            options.Labels, options.Images, options.Kinds, options.PerKind, options.Seed, options.Quality,
        }, new JsonSerializerOptions { WriteIndented = true }));
        return labels.GroupBy(r => r.Source).ToDictionary(g => g.Key, g => g.Count());
    }
}
