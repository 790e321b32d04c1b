using System.Collections.Concurrent;
using System.Text.Json;
using Veracity.Data;
using Veracity.Imaging;

namespace Veracity.Faces;

/// <summary>What <c>veracity faces</c> did with one picture (one line of faces.jsonl).</summary>
public sealed record FaceRecord(string Name, int Found, int Small, bool Written, bool WholeImage, float[][] Boxes, string? Problem);

/// <summary>What a <see cref="FaceDataset.Run"/> produced, and the pictures a person should look at.</summary>
/// <param name="FaceSizes">How well the size of the face in the picture tells real from fake (and each fake source from the reals).</param>
public sealed record FacesSummary(int Images, int Written, int Resumed, IReadOnlyList<string> NoFace, IReadOnlyList<string> MultiFace,
    IReadOnlyList<string> SmallFace, IReadOnlyList<DecodeFailure> Failures, string LabelFile, string ReportFile, double FacesPerSecond,
    IReadOnlyList<TraitComparison> FaceSizes);

/// <summary>
/// Writes a face-crop copy of a labelled image folder: for every picture its largest usable face, aligned and cut to
/// a square (PNG data under the original name, like <c>prepare</c>), and the label file of the pictures kept (sources
/// included). Pictures without a usable face are cut whole or skipped as the settings say; pictures with several
/// faces or with faces too small to use are listed in the report. Each picture's outcome is appended to faces.jsonl,
/// so an interrupted run resumes where it stopped.
/// </summary>
public static class FaceDataset
{
    public const string LogFile = "faces.jsonl", ReportFile = "faces_report.json", PreviewFile = "preview.png", CutFile = "faces_cut.json";
    const int PreviewRows = 6;

    /// <param name="reencode">The pipeline every picture goes through before its faces are found (none: as they are).</param>
    public static FacesSummary Run(string labelFile, string images, string outDir, FaceSettings settings, int size,
        Action<int>? start = null, Action? fileDone = null, Reencoding? reencode = null)
    {
        settings.Validate();
        if (size < 16) throw new VeracityException("the crop size must be at least 16 px");
        var rows = LabelFile.ReadLabels(labelFile);
        ImagePaths.RequireFolder(images);
        string outImages = CropFolder(images, outDir);
        if (Path.GetFullPath(outImages) == Path.GetFullPath(images))
            throw new VeracityException("the output folder must not be the folder that holds the images");
        Directory.CreateDirectory(outDir);
        RequireSameCut(outDir, settings, size);

        string logPath = Path.Combine(outDir, LogFile);
        var records = new ConcurrentDictionary<string, FaceRecord>(ReadLog(logPath).Select(r => KeyValuePair.Create(r.Name, r)),
            StringComparer.Ordinal);
        int resumed = rows.Count(r => records.ContainsKey(r.Name));
        using var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        using var cropper = new FaceCropper(settings);
        var decoder = new ImageDecoder(reencode: reencode);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int written = 0;
        start?.Invoke(rows.Count);
        Parallel.ForEach(rows.Where(r => !records.ContainsKey(r.Name)), row =>
        {
            var record = Process(row, images, outImages, cropper, decoder, size);
            records[row.Name] = record;
            if (record.Written) Interlocked.Increment(ref written);
            lock (log) log.WriteLine(JsonSerializer.Serialize(record));
            fileDone?.Invoke();
        });
        double facesPerSecond = (rows.Count - resumed) / Math.Max(1e-9, clock.Elapsed.TotalSeconds);

        var all = rows.Select(r => records[r.Name]).ToList();
        string labels = Path.Combine(outDir, Path.GetFileName(labelFile));
        var kept = all.Where(r => r.Written).Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        CsvFiles.WriteLabels(labels, rows.Where(r => kept.Contains(r.Name)));
        var summary = new FacesSummary(rows.Count, written, resumed,
            all.Where(r => r.Problem is null && r.Found - r.Small == 0).Select(r => r.Name).ToList(),
            all.Where(r => r.Found - r.Small > 1).Select(r => r.Name).ToList(),
            all.Where(r => r.Small > 0).Select(r => r.Name).ToList(),
            all.Where(r => r.Problem is not null).Select(r => new DecodeFailure(r.Name, r.Problem!)).ToList(),
            labels, Path.Combine(outDir, ReportFile), facesPerSecond,
            Shortcuts.CompareFaceSizes(rows.Where(r => records[r.Name] is { Written: true, WholeImage: false, Boxes.Length: > 0 })
                .Select(r => new Shortcuts.FaceSample(r, records[r.Name].Boxes.Max(b => b[2]))).ToList()));
        AtomicFile.WriteAllBytes(summary.ReportFile, JsonSerializer.SerializeToUtf8Bytes(new { settings, size, summary },
            new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
        WritePreview(all, images, Path.Combine(outDir, PreviewFile), cropper, decoder, size);
        return summary;
    }

    /// <summary>The first pictures with several faces, then others with faces, drawn with their boxes and crops.</summary>
    static void WritePreview(IReadOnlyList<FaceRecord> records, string images, string path, FaceCropper cropper, ImageDecoder decoder, int size)
    {
        var chosen = records.Where(r => r.Found - r.Small > 1).Concat(records.Where(r => r.Found > 0)).Distinct().Take(PreviewRows).ToList();
        FacePreview.Write(path, chosen.Select(record =>
        {
            var picture = decoder.Decode(ImagePaths.Resolve(images, record.Name));
            var scan = cropper.Scan(picture);
            return (picture, scan, cropper.Crops(picture, scan, size, largestOnly: false));
        }).ToList());
    }

    /// <summary>
    /// Records how <paramref name="outDir"/>'s crops are cut, or refuses to add crops cut another way to those already there:
    /// resuming at another size would mix sizes silently (the loader resizes them all alike).
    /// </summary>
    static void RequireSameCut(string outDir, FaceSettings settings, int size)
    {
        string path = Path.Combine(outDir, CutFile);
        byte[] cut = JsonSerializer.SerializeToUtf8Bytes(new { settings, size });
        if (!File.Exists(path))
        {
            AtomicFile.WriteAllBytes(path, cut);
            return;
        }
        string before = File.ReadAllText(path), now = System.Text.Encoding.UTF8.GetString(cut);
        if (before != now)
            throw new VeracityException($"{outDir} holds faces cut another way ({before}), not as asked now ({now}): " +
                                        "cut into another folder, or delete that one");
    }

    /// <summary>Where the crops of <paramref name="images"/> go under <paramref name="outDir"/>: a folder of the same name.</summary>
    public static string CropFolder(string images, string outDir) =>
        Path.Combine(outDir, Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(images))));

    static FaceRecord Process(LabelRow row, string images, string outImages, FaceCropper cropper, ImageDecoder decoder, int size)
    {
        try
        {
            var picture = decoder.Decode(ImagePaths.Resolve(images, row.Name));
            var scan = cropper.Scan(picture);
            var crops = cropper.Crops(picture, scan, size, largestOnly: true);
            if (crops.Count > 0) AtomicFile.WriteAllBytes(ImagePaths.Resolve(outImages, row.Name), SkiaPixels.EncodePng(crops[0].Image));
            return new FaceRecord(row.Name, scan.Found, scan.Small.Count, crops.Count > 0, crops.Count > 0 && crops[0].Face is null,
                scan.Usable.Concat(scan.Small).Select(f => new[] { f.X, f.Y, f.Width, f.Height, f.Score }).ToArray(), null);
        }
        catch (ImageDecodeException e)
        {
            return new FaceRecord(row.Name, 0, 0, false, false, [], e.Problem);
        }
    }

    /// <summary>The pictures already done; a line cut short by a crash is skipped (that picture is done again).</summary>
    static IEnumerable<FaceRecord> ReadLog(string path)
    {
        if (!File.Exists(path)) yield break;
        foreach (string line in File.ReadLines(path).Where(l => l.Length > 0))
        {
            FaceRecord? record;
            try
            {
                record = JsonSerializer.Deserialize<FaceRecord>(line);
            }
            catch (JsonException)
            {
                continue;
            }
            if (record is not null) yield return record;
        }
    }
}
