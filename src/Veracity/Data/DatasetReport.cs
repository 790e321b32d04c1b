using System.Collections.Concurrent;
using Veracity.Imaging;

namespace Veracity.Data;

public sealed record SizeSummary(int Min, int Median, int Max);

public sealed record DecodeFailure(string Name, string Problem);

/// <summary>What <see cref="DatasetReport.Inspect"/> found in a label file and its image folder.</summary>
public sealed record DatasetReport(
    string LabelFile,
    string ImageFolder,
    int Rows,
    int Real,
    int Fake,
    int FilesOnDisk,
    IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unlabelled,
    int Checked,
    bool Sampled,
    SizeSummary? Width,
    SizeSummary? Height,
    IReadOnlyDictionary<string, int> Formats,
    IReadOnlyList<DecodeFailure> DecodeFailures,
    IReadOnlyList<SourceCount> BySource,
    IReadOnlyList<TraitComparison> Shortcuts)
{
    /// <summary>The traits that tell the classes (or a fake source from the reals) apart almost perfectly on their own.</summary>
    public IReadOnlyList<TraitComparison> ShortcutWarnings => Shortcuts.Where(c => c.Warns).ToList();

    public double FakeFraction => Rows == 0 ? 0 : (double)Fake / Rows;

    /// <summary>Rows that point at missing or undecodable files: a data set with any of these is not usable as it is.</summary>
    public bool HasProblems => Missing.Count > 0 || DecodeFailures.Count > 0;

    /// <summary>
    /// Counts rows, classes and files, then reads headers and decodes a sample of the present files
    /// (all of them when <paramref name="sample"/> is 0 or at least their number). Memory is the names only.
    /// </summary>
    public static DatasetReport Inspect(string labelFile, string imageFolder, int sample = 2000, int seed = 0,
        Action<int>? startChecking = null, Action? fileChecked = null, string? sourcesFile = null)
    {
        var rows = Data.LabelFile.ReadLabels(labelFile);
        if (sourcesFile is not null) rows = Sources.Apply(rows, sourcesFile);
        ImagePaths.RequireFolder(imageFolder);

        var onDisk = new HashSet<string>(StringComparer.Ordinal);
        foreach (string file in Directory.EnumerateFiles(imageFolder, "*", new EnumerationOptions { RecurseSubdirectories = true }))
            onDisk.Add(Path.GetRelativePath(imageFolder, file).Replace(Path.DirectorySeparatorChar, '/'));
        var labelled = new HashSet<string>(rows.Select(r => r.Name), StringComparer.Ordinal);

        var missing = rows.Where(r => !onDisk.Contains(r.Name)).Select(r => r.Name).ToList();
        var unlabelled = onDisk.Where(name => !labelled.Contains(name)).Order(StringComparer.Ordinal).ToList();

        var present = rows.Where(r => onDisk.Contains(r.Name)).ToArray();
        bool sampled = sample > 0 && present.Length > sample;
        if (sampled)
        {
            new Random(seed).Shuffle(present);
            present = present[..sample];
        }

        startChecking?.Invoke(present.Length);
        var decoder = new ImageDecoder();
        var headers = new ConcurrentBag<ImageHeader>();
        var traits = new ConcurrentBag<Shortcuts.Sample>();
        var failures = new ConcurrentBag<DecodeFailure>();
        Parallel.ForEach(present, row =>
        {
            string path = ImagePaths.Resolve(imageFolder, row.Name);
            try
            {
                byte[] bytes = ImageDecoder.ReadFile(path);
                var header = decoder.ReadHeader(bytes, path);
                // A full decode (at a small scale) finds truncated and corrupt data that the header hides.
                decoder.Decode(bytes, path, (Math.Min(header.Width, 64), Math.Min(header.Height, 64)));
                headers.Add(header);
                traits.Add(new Shortcuts.Sample(row, FileTraits.Of(bytes, header)));
            }
            catch (ImageDecodeException e)
            {
                failures.Add(new DecodeFailure(row.Name, e.Problem));
            }
            fileChecked?.Invoke();
        });

        var widths = headers.Select(h => h.Width).Order().ToArray();
        var heights = headers.Select(h => h.Height).Order().ToArray();
        return new DatasetReport(labelFile, imageFolder, rows.Count,
            rows.Count(r => r.Target == 0), rows.Count(r => r.Target == 1), onDisk.Count,
            missing, unlabelled, present.Length, sampled, Summarise(widths), Summarise(heights),
            headers.GroupBy(h => h.Format).OrderByDescending(g => g.Count()).ToDictionary(g => g.Key, g => g.Count()),
            failures.OrderBy(f => f.Name, StringComparer.Ordinal).ToList(), Sources.Counts(rows), Data.Shortcuts.Compare(traits.ToList()));
    }

    static SizeSummary? Summarise(int[] sorted) =>
        sorted.Length == 0 ? null : new SizeSummary(sorted[0], sorted[sorted.Length / 2], sorted[^1]);
}
