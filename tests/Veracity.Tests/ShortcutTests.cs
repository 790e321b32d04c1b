using Veracity.Data;
using Veracity.Imaging;

namespace Veracity.Tests;

/// <summary>How files were made (format, size, JPEG quality, subsampling, coding, EXIF), and the warnings when that alone splits the classes.</summary>
public class ShortcutTests
{
    static readonly RgbImage Scene = Synth.SceneRenderer.Render(96, new Random(1));

    static FileTraits TraitsOf(byte[] bytes) => FileTraits.Of(bytes, new ImageDecoder().ReadHeader(bytes, "picture"));

    [Theory]
    [InlineData(30)]
    [InlineData(75)]
    [InlineData(90)]
    [InlineData(95)]
    public void A_jpegs_quality_is_read_back_from_its_quantisation_tables(int quality)
    {
        var traits = TraitsOf(SkiaPixels.EncodeJpeg(Scene, quality));
        Assert.Equal(("JPEG", 96, 96), (traits.Format, traits.Width, traits.Height));
        Assert.InRange(traits.JpegQuality!.Value, quality - 1, quality + 1);
        Assert.Equal("4:2:0", traits.ChromaSubsampling);
        Assert.False(traits.Progressive);
        Assert.False(traits.Exif);
    }

    [Fact]
    public void Progressive_coding_exif_and_png_are_told()
    {
        byte[] jpeg = SkiaPixels.EncodeJpeg(Scene, 90);
        int frame = Enumerable.Range(0, jpeg.Length - 1).First(i => jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0);
        byte[] progressive = (byte[])jpeg.Clone();
        progressive[frame + 1] = 0xC2; // the same frame header, marked progressive: only the segment is read
        Assert.True(FileTraits.Of(progressive, new ImageHeader(96, 96, "JPEG")).Progressive);

        Assert.True(TraitsOf(File.ReadAllBytes(Fixtures.Path("orientation-6.jpg"))).Exif);
        var png = TraitsOf(SkiaPixels.EncodePng(Scene));
        Assert.Equal(("PNG", (int?)null, (bool?)null, false), (png.Format, png.JpegQuality, png.Progressive, png.Exif));
    }

    static Shortcuts.Sample Sample(int target, string source, byte[] bytes, int line) =>
        new(new LabelRow($"{line}.img", target, line, source), TraitsOf(bytes));

    [Fact]
    public void Reals_saved_as_png_and_fakes_as_jpeg_are_a_warning_that_names_the_format()
    {
        var samples = Enumerable.Range(0, 20).Select(i => i < 10
            ? Sample(0, "camera", SkiaPixels.EncodePng(Scene), i)
            : Sample(1, "gan", SkiaPixels.EncodeJpeg(Scene, 90), i)).ToList();
        var warnings = Shortcuts.Compare(samples).Where(c => c.Warns).ToList();
        var format = Assert.Single(warnings, w => w.Trait == "format");
        Assert.Equal(1.0, format.Separation);
        Assert.Equal("format: real PNG 100%, fake JPEG 100%: a detector can learn the format (100% separable)", format.Describe());
        Assert.Contains(warnings, w => w.Trait == "JPEG quality");
        Assert.DoesNotContain(warnings, w => w.Trait == "pixel size"); // the same size on both sides
    }

    [Fact]
    public void Classes_made_the_same_way_give_no_warning_and_one_odd_fake_source_is_named()
    {
        var samples = Enumerable.Range(0, 30).Select(i => Sample(i % 2, i % 2 == 0 ? "camera" : i % 3 == 0 ? "odd" : "gan",
            i % 3 == 0 && i % 2 == 1 ? SkiaPixels.EncodeJpeg(Scene, 60) : SkiaPixels.EncodeJpeg(Scene, 90), i)).ToList();
        var comparisons = Shortcuts.Compare(samples);
        Assert.DoesNotContain(comparisons, c => c.Warns && c.GroupB == "fake");
        var odd = Assert.Single(comparisons, c => c.Warns);
        Assert.Equal(("JPEG quality", "fake 'odd'"), (odd.Trait, odd.GroupB));
    }

    [Fact]
    public void Stats_reports_the_shortcut_of_a_data_set_on_disk()
    {
        using var dir = new TempDir();
        var rows = new List<string> { "img_name,target" };
        for (int i = 0; i < 12; i++)
        {
            var picture = Synth.SceneRenderer.Render(64, new Random(i));
            string name = i % 2 == 0 ? $"r{i}.png" : $"f{i}.jpg";
            File.WriteAllBytes(dir.File($"images/{name}"), i % 2 == 0 ? SkiaPixels.EncodePng(picture) : SkiaPixels.EncodeJpeg(picture, 90));
            rows.Add($"{name},{i % 2}");
        }
        File.WriteAllLines(dir.File("labels.csv"), rows);
        var report = DatasetReport.Inspect(dir.File("labels.csv"), System.IO.Path.Combine(dir.Path, "images"));
        Assert.Contains(report.ShortcutWarnings, w => w.Trait == "format" && w.Separation == 1.0);
    }

    [Fact]
    public void Reencoding_brings_every_picture_to_one_size_and_one_jpeg_quality()
    {
        var wide = new RgbImage(1000, 500);
        Scene.Pixels.AsSpan(0, Math.Min(Scene.Pixels.Length, wide.Pixels.Length)).CopyTo(wide.Pixels);
        var pipeline = new Reencoding(Quality: 85, LongSide: 250);
        foreach (byte[] file in new[] { SkiaPixels.EncodePng(wide), SkiaPixels.EncodeJpeg(wide, 60) })
        {
            byte[] after = pipeline.Encode(new ImageDecoder().Decode(file, "wide"));
            var traits = TraitsOf(after);
            Assert.Equal(("JPEG", 250, 125), (traits.Format, traits.Width, traits.Height));
            Assert.InRange(traits.JpegQuality!.Value, 84, 86);
            var decoded = new ImageDecoder(reencode: pipeline).Decode(file, "wide", (64, 32));
            Assert.Equal(new ImageDecoder().Decode(after, "after", (64, 32)).Pixels, decoded.Pixels);
        }
        Assert.NotNull(new Reencoding(0, 250).Problem);
        Assert.NotNull(new Reencoding(90, 8).Problem);
    }

    [Fact]
    public void Faces_whose_size_tells_a_fake_source_from_the_reals_are_warned_of_and_evenly_sized_ones_are_not()
    {
        static Shortcuts.FaceSample Face(int target, string source, double side, int row) => new(new LabelRow($"{source}/{row}.jpg", target, row + 2, source), side);
        var reals = Enumerable.Range(0, 40).Select(i => Face(0, "lfw", 95 + i % 20, i));
        var swaps = Enumerable.Range(0, 40).Select(i => Face(1, "swaps", 95 + (i + 7) % 20, i));
        var gan = Enumerable.Range(0, 40).Select(i => Face(1, "stylegan", 140 + i % 20, i));

        var comparisons = Shortcuts.CompareFaceSizes([.. reals, .. swaps, .. gan]);
        var byGroup = comparisons.ToDictionary(c => c.GroupB);
        Assert.True(byGroup["fake 'stylegan'"].Warns, byGroup["fake 'stylegan'"].Describe());
        Assert.Equal(1, byGroup["fake 'stylegan'"].Separation, 9);
        Assert.False(byGroup["fake 'swaps'"].Warns, byGroup["fake 'swaps'"].Describe());
        Assert.InRange(byGroup["fake 'swaps'"].Separation, 0.5, 0.6);
        Assert.Equal("fake 'stylegan'", comparisons[0].GroupB); // the worst first
        Assert.Contains("face size: real 96-111 px", byGroup["fake 'stylegan'"].Describe());
    }
}
