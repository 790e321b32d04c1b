using System.Text.Json;
using Veracity.Data;
using Veracity.Imaging;

namespace Veracity.Synth;

public sealed record SynthOptions(
    string OutDir,
    int Count = 1000,
    int Size = 256,
    int Seed = 0,
    double ValFraction = 0.2,
    IReadOnlyList<string>? ManipulationKinds = null)
{
    public IReadOnlyList<string> Kinds => ManipulationKinds is { Count: > 0 } kinds ? kinds : Manipulations.SceneDefault;
}

/// <summary>What <see cref="SyntheticDataset.Generate"/> wrote.</summary>
public sealed record SynthSummary(int Train, int Val, int Fakes, IReadOnlyDictionary<string, int> ByManipulation);

/// <summary>
/// Writes a SYNTHETIC labelled dataset in the competition layout (trainset/, trainset_label.txt, valset/,
/// valset_label.txt), plus a side file per split naming each image's manipulation, so evaluation can be split
/// by forgery type. Half the images are real scenes, half are manipulated copies of real scenes. The same seed
/// gives byte-identical files.
/// </summary>
public static class SyntheticDataset
{
    /// <summary>The source of every unmanipulated image (fakes carry their manipulation's name).</summary>
    public const string RealSource = "scene";
    public static string LabelFileName(string split) => $"{split}_label.txt";

    public static SynthSummary Generate(SynthOptions options, Action? imageWritten = null)
    {
        if (options.Count < 2) throw new VeracityException("the image count must be at least 2 (one real, one fake)");
        if (options.Size < 16 || options.Size > 4096) throw new VeracityException("the image size must be between 16 and 4096 px");
        if (options.ValFraction is < 0 or >= 1) throw new VeracityException("the validation fraction must be in [0, 1)");
        foreach (string kind in options.Kinds)
            if (!Manipulations.All.Contains(kind))
                throw new VeracityException($"unknown manipulation '{kind}'; choose from {string.Join(", ", Manipulations.All)}");

        // Which images go to validation: a seeded share of each class (image i is fake when i is odd).
        var isVal = new bool[options.Count];
        for (int target = 0; target <= 1; target++)
        {
            var members = Enumerable.Range(0, options.Count).Where(i => i % 2 == target).ToArray();
            new Random(Seeds.Mix(options.Seed, Seeds.Salt.SynthSplit, target)).Shuffle(members);
            foreach (int i in members.Take((int)Math.Round(members.Length * options.ValFraction))) isVal[i] = true;
        }
        int valCount = isVal.Count(v => v);

        foreach (string name in new[] { "trainset", "valset" })
            Directory.CreateDirectory(Path.Combine(options.OutDir, name));

        var records = new (string Name, int Target, string Kind)[options.Count];
        Parallel.For(0, options.Count, i =>
        {
            var rng = new Random(Seeds.Mix(options.Seed, i));
            string name = Convert.ToHexStringLower(RandomBytes(rng, 16)) + ".jpg";
            int target = i % 2;
            var image = SceneRenderer.Render(options.Size, rng);
            string kind = Manipulations.None;
            if (target == 1)
            {
                kind = options.Kinds[rng.Next(options.Kinds.Count)];
                Manipulations.Apply(kind, image, rng);
            }
            byte[] jpeg = SkiaPixels.EncodeJpeg(image, rng.Next(75, 96));
            AtomicFile.WriteAllBytes(Path.Combine(options.OutDir, isVal[i] ? "valset" : "trainset", name), jpeg);
            records[i] = (name, target, kind);
            imageWritten?.Invoke();
        });

        foreach (var (splitName, val) in new[] { ("trainset", false), ("valset", true) })
        {
            var rows = Enumerable.Range(0, options.Count).Where(i => isVal[i] == val).Select(i => records[i]).ToList();
            // The source column names each fake's manipulation and calls the originals "scene".
            CsvFiles.WriteLabels(Path.Combine(options.OutDir, LabelFileName(splitName)),
                rows.Select((r, line) => new LabelRow(r.Name, r.Target, line + 2, r.Target == 1 ? r.Kind : RealSource)));
        }
        AtomicFile.WriteAllBytes(Path.Combine(options.OutDir, "synth.json"), JsonSerializer.SerializeToUtf8Bytes(new
        {
            synthetic = true,
            note = "Procedurally generated scenes and manipulated copies; not real faces.",
            options.Count, options.Size, options.Seed, options.ValFraction, manipulations = options.Kinds,
        }, new JsonSerializerOptions { WriteIndented = true }));

        var byKind = records.GroupBy(r => r.Kind).ToDictionary(g => g.Key, g => g.Count());
        return new SynthSummary(options.Count - valCount, valCount, records.Count(r => r.Target == 1), byKind);
    }

    static byte[] RandomBytes(Random rng, int count)
    {
        var bytes = new byte[count];
        rng.NextBytes(bytes);
        return bytes;
    }
}
