using System.Text.Json;
using Veracity.Data;
using Veracity.Imaging;

namespace Veracity.Tests;

public class StatsTests(SmallSynthSet data) : IClassFixture<SmallSynthSet>
{
    [Fact]
    public void Counts_a_generated_set_exactly()
    {
        var report = DatasetReport.Inspect(data.TrainLabels, data.TrainImages);
        Assert.Equal((36, 18, 18), (report.Rows, report.Real, report.Fake));
        Assert.Equal(0.5, report.FakeFraction);
        Assert.Equal(36, report.FilesOnDisk);
        Assert.Empty(report.Missing);
        Assert.Empty(report.Unlabelled);
        Assert.Empty(report.DecodeFailures);
        Assert.Equal((36, false), (report.Checked, report.Sampled));
        Assert.Equal(new SizeSummary(64, 64, 64), report.Width);
        Assert.Equal(new Dictionary<string, int> { ["JPEG"] = 36 }, report.Formats);
        Assert.False(report.HasProblems);
    }

    [Fact]
    public void Samples_when_asked_to()
    {
        var report = DatasetReport.Inspect(data.TrainLabels, data.TrainImages, sample: 10);
        Assert.Equal((10, true), (report.Checked, report.Sampled));
        Assert.Equal(36, report.Rows);
    }

    /// <summary>A folder with every kind of problem: a corrupt JPEG, a zero-byte file, text named .jpg, a missing and an unlabelled file.</summary>
    internal static (string Labels, string Images) BrokenSet(TempDir dir)
    {
        var good = Synth.SceneRenderer.Render(48, new Random(0));
        byte[] jpeg = SkiaPixels.EncodeJpeg(good, 90);
        File.WriteAllBytes(dir.File("images/good.jpg"), jpeg);
        File.WriteAllBytes(dir.File("images/real/sub.png"), SkiaPixels.EncodePng(good));
        File.WriteAllBytes(dir.File("images/truncated.jpg"), jpeg[..(jpeg.Length * 2 / 3)]);
        File.WriteAllBytes(dir.File("images/zero.jpg"), []);
        dir.File("images/text.jpg", "this is a note, not a photo\n");
        dir.File("images/extra.jpg", "unlabelled");
        string labels = dir.File("labels.txt",
            "img_name,target\ngood.jpg,0\nreal/sub.png,0\ntruncated.jpg,1\nzero.jpg,1\ntext.jpg,0\nmissing.jpg,1\n");
        return (labels, Path.Combine(dir.Path, "images"));
    }

    [Fact]
    public void Reports_missing_unlabelled_and_undecodable_files()
    {
        using var dir = new TempDir();
        var (labels, images) = BrokenSet(dir);
        var report = DatasetReport.Inspect(labels, images);
        Assert.Equal((6, 3, 3), (report.Rows, report.Real, report.Fake));
        Assert.Equal(["missing.jpg"], report.Missing);
        Assert.Equal(["extra.jpg"], report.Unlabelled);
        Assert.Equal(["text.jpg", "truncated.jpg", "zero.jpg"], report.DecodeFailures.Select(f => f.Name));
        Assert.Equal(new Dictionary<string, int> { ["JPEG"] = 1, ["PNG"] = 1 }, report.Formats);
        Assert.True(report.HasProblems);
    }

    [Fact]
    public void Stats_command_prints_counts_and_fails_on_a_broken_set()
    {
        var ok = Cli.Run("stats", "--labels", data.TrainLabels, "--images", data.TrainImages);
        Assert.Equal(0, ok.ExitCode);
        Assert.Matches(@"rows\s*│\s*36", ok.Output);
        Assert.Matches(@"deepfake \(1\)\s*│\s*18 \(50\.0%\)", ok.Output);

        using var dir = new TempDir();
        var (labels, images) = BrokenSet(dir);
        var bad = Cli.Run("stats", "--labels", labels, "--images", images);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("missing.jpg", bad.Output);
        Assert.Contains("zero.jpg: file is empty (0 bytes)", bad.Output);
        Assert.Contains("text.jpg: not a supported image", bad.Output);
        Assert.Contains("truncated.jpg: image data is truncated", bad.Output);
        Assert.DoesNotContain("   at ", bad.All); // no stack trace

        var json = Cli.Run("stats", "--labels", labels, "--images", images, "--json");
        Assert.Equal(1, json.ExitCode);
        using var document = JsonDocument.Parse(json.Output);
        Assert.Equal(3, document.RootElement.GetProperty("decodeFailures").GetArrayLength());
        Assert.Equal(6, document.RootElement.GetProperty("rows").GetInt32());
    }

    [Fact]
    public void Traversal_in_a_label_file_is_a_clear_error_not_a_stack_trace()
    {
        using var dir = new TempDir();
        string labels = dir.File("labels.txt", "img_name,target\na.jpg,0\n../../etc/passwd,1\n");
        Directory.CreateDirectory(Path.Combine(dir.Path, "images"));
        var result = Cli.Run("stats", "--labels", labels, "--images", Path.Combine(dir.Path, "images"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("line 3", result.All);
        Assert.Contains("'..'", result.All);
        Assert.DoesNotContain("   at ", result.All);
    }
}

public class PrepareTests(SmallSynthSet data) : IClassFixture<SmallSynthSet>
{
    [Fact]
    public void Prepared_copy_holds_the_pixels_training_sees_and_resumes()
    {
        using var dir = new TempDir();
        var summary = Prepare.Run(data.TrainLabels, data.TrainImages, 32, dir.Path);
        Assert.Equal((36, 0, 0), (summary.Written, summary.UpToDate, summary.Failures.Count));
        Assert.Equal(LabelFile.ReadLabels(data.TrainLabels), LabelFile.ReadLabels(summary.LabelFile));

        var decoder = new ImageDecoder();
        string prepared = Path.Combine(dir.Path, "trainset");
        foreach (var row in LabelFile.ReadLabels(data.TrainLabels).Take(5))
            Assert.Equal(decoder.Decode(Path.Combine(data.TrainImages, row.Name), 32, 32).Pixels,
                decoder.Decode(Path.Combine(prepared, row.Name), 32, 32).Pixels);

        var again = Prepare.Run(data.TrainLabels, data.TrainImages, 32, dir.Path);
        Assert.Equal((0, 36), (again.Written, again.UpToDate));
    }

    [Fact]
    public void Broken_images_are_reported_and_left_out()
    {
        using var dir = new TempDir();
        var (labels, images) = StatsTests.BrokenSet(dir);
        var summary = Prepare.Run(labels, images, 32, Path.Combine(dir.Path, "out"));
        Assert.Equal(["missing.jpg", "text.jpg", "truncated.jpg", "zero.jpg"], summary.Failures.Select(f => f.Name));
        Assert.Equal(["good.jpg", "real/sub.png"], LabelFile.ReadLabels(summary.LabelFile).Select(r => r.Name));
    }
}
