using System.Collections.Concurrent;
using Veracity.Imaging;

namespace Veracity.Data;

public sealed record PrepareSummary(int Written, int UpToDate, IReadOnlyList<DecodeFailure> Failures, string LabelFile);

/// <summary>
/// Writes a pre-scaled copy of a labelled image folder: every image decoded, oriented and resized exactly as training
/// would at that size, stored losslessly (PNG data under the original name, so submissions keep their names), plus
/// the label file. Training on the copy sees the same pixels as training on the original, without the decoding cost
/// of large JPEGs. Files newer than their source are kept, so an interrupted run resumes where it stopped.
/// </summary>
public static class Prepare
{
    public static PrepareSummary Run(string labelFile, string images, int size, string outDir, Action<int>? start = null, Action? fileDone = null)
    {
        if (size < 16) throw new VeracityException("the size must be at least 16 px");
        var rows = Data.LabelFile.ReadLabels(labelFile);
        ImagePaths.RequireFolder(images);
        string outImages = Path.Combine(outDir, Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(images))));
        if (Path.GetFullPath(outImages) == Path.GetFullPath(images))
            throw new VeracityException("the output folder must not be the folder that holds the images");

        var decoder = new ImageDecoder();
        var failures = new ConcurrentBag<DecodeFailure>();
        int written = 0, upToDate = 0;
        start?.Invoke(rows.Count);
        Parallel.ForEach(rows, row =>
        {
            string source = ImagePaths.Resolve(images, row.Name), target = ImagePaths.Resolve(outImages, row.Name);
            try
            {
                if (File.Exists(target) && File.Exists(source) && File.GetLastWriteTimeUtc(target) >= File.GetLastWriteTimeUtc(source))
                    Interlocked.Increment(ref upToDate);
                else
                {
                    AtomicFile.WriteAllBytes(target, SkiaPixels.EncodePng(decoder.Decode(source, size, size)));
                    Interlocked.Increment(ref written);
                }
            }
            catch (ImageDecodeException e)
            {
                failures.Add(new DecodeFailure(row.Name, e.Problem));
            }
            fileDone?.Invoke();
        });

        string labels = Path.Combine(outDir, Path.GetFileName(labelFile));
        var broken = failures.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        CsvFiles.WriteLabels(labels, rows.Where(r => !broken.Contains(r.Name)));
        return new PrepareSummary(written, upToDate, failures.OrderBy(f => f.Name, StringComparer.Ordinal).ToList(), labels);
    }
}
