using System.Text.Json;
using SkiaSharp;
using Veracity.Data;
using Veracity.Faces;
using Veracity.Imaging;

namespace Veracity.Tests;

/// <summary>
/// Face detection and alignment on a real photograph with a clear licence: NASA's portrait of the astronaut Eileen
/// Collins (public domain; shipped by scikit-image as astronaut.png, here re-encoded as JPEG). Its face was located
/// by eye on a 50-px grid: eyes at about (205, 100) and (245, 99), centre of the face about (226, 118). The variants
/// (mirrored, shrunk onto a 640×480 canvas, turned by 20°) are made here, so where the face must be is known.
/// </summary>
public class FaceTests : IDisposable
{
    static readonly RgbImage Astronaut = new ImageDecoder().Decode(Fixtures.Path("astronaut.jpg"));
    static readonly Point2 RightEye = new(205, 100), LeftEye = new(245, 99), Centre = new(226, 118);
    readonly FaceDetector _detector = FaceDetector.Open();

    public void Dispose() => _detector.Dispose();

    static void Near(Point2 expected, Point2 actual, float tolerance, string what) =>
        Assert.True(MathF.Abs(expected.X - actual.X) <= tolerance && MathF.Abs(expected.Y - actual.Y) <= tolerance,
            $"{what}: expected about ({expected.X:F0}, {expected.Y:F0}), found ({actual.X:F0}, {actual.Y:F0})");

    static Point2 CentreOf(Face face) => new(face.X + face.Width / 2, face.Y + face.Height / 2);

    /// <summary>The picture drawn through <paramref name="matrix"/> onto a grey canvas of the given size.</summary>
    static RgbImage Transformed(RgbImage picture, SKMatrix matrix, int width, int height)
    {
        using var source = SkiaPixels.ToBitmap(picture);
        using var target = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(target))
        using (var image = SKImage.FromBitmap(source))
        {
            canvas.Clear(new SKColor(128, 128, 128));
            canvas.SetMatrix(matrix);
            canvas.DrawImage(image, 0, 0, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        }
        return SkiaPixels.ToRgb(target);
    }

    [Fact]
    public void The_astronauts_face_is_found_where_it_is_with_its_eyes()
    {
        var faces = _detector.Detect(Astronaut);
        var face = Assert.Single(faces);
        Assert.True(face.Score > 0.8, $"confidence {face.Score}");
        Near(Centre, CentreOf(face), 15, "face centre");
        Assert.InRange(face.Width, 70, 140);
        Near(RightEye, face.RightEye, 10, "right eye (image left)");
        Near(LeftEye, face.LeftEye, 10, "left eye");
    }

    public static TheoryData<string> Variants => ["mirrored", "shrunk onto 640x480", "turned 20 degrees"];

    [Theory]
    [MemberData(nameof(Variants))]
    public void The_face_moves_with_the_picture(string variant)
    {
        var (matrix, width, height) = variant switch
        {
            "mirrored" => (new SKMatrix(-1, 0, Astronaut.Width, 0, 1, 0, 0, 0, 1), 512, 512),
            "shrunk onto 640x480" => (new SKMatrix(0.5f, 0, 300, 0, 0.5f, 200, 0, 0, 1), 640, 480),
            _ => (SKMatrix.CreateRotationDegrees(20, 256, 256), 512, 512),
        };
        var picture = Transformed(Astronaut, matrix, width, height);
        var face = Assert.Single(_detector.Detect(picture));
        float scale = MathF.Sqrt(MathF.Abs(matrix.ScaleX * matrix.ScaleY - matrix.SkewX * matrix.SkewY));
        Near(FaceAligner.Apply(matrix, Centre), CentreOf(face), 15 * scale, "face centre");
        // Mirrored, the subject's right eye is the one now on the image's left: the astronaut's left eye.
        var (right, left) = variant == "mirrored" ? (LeftEye, RightEye) : (RightEye, LeftEye);
        Near(FaceAligner.Apply(matrix, right), face.RightEye, 10 * scale + 2, "right eye");
        Near(FaceAligner.Apply(matrix, left), face.LeftEye, 10 * scale + 2, "left eye");
    }

    [Fact]
    public void Pictures_without_a_face_give_none()
    {
        var grey = new RgbImage(320, 240);
        Array.Fill(grey.Pixels, (byte)128);
        Assert.Empty(_detector.Detect(grey));

        var noise = new RgbImage(320, 240);
        new Random(3).NextBytes(noise.Pixels);
        Assert.Empty(_detector.Detect(noise));

        // The picture's flag and rocket, without the astronaut: the right third of the frame.
        var corner = Transformed(Astronaut, SKMatrix.CreateTranslation(-340, 0), 172, 300);
        Assert.Empty(_detector.Detect(corner));
    }

    [Fact]
    public void Alignment_puts_the_eyes_where_the_template_says_and_levels_them()
    {
        var face = Assert.Single(_detector.Detect(Transformed(Astronaut, SKMatrix.CreateRotationDegrees(15, 256, 256), 512, 512)));
        const int size = 224;
        const double margin = 1.3;
        var crop = FaceAligner.Align(Transformed(Astronaut, SKMatrix.CreateRotationDegrees(15, 256, 256), 512, 512), face, size, margin);
        Assert.Equal((size, size), (crop.Width, crop.Height));

        // Detected again in the crop, the eyes sit on the template's eye positions, level.
        var again = Assert.Single(_detector.Detect(crop));
        Near(FaceAligner.InCrop(FaceAligner.Template[0], size, margin), again.RightEye, 0.04f * size, "right eye in the crop");
        Near(FaceAligner.InCrop(FaceAligner.Template[1], size, margin), again.LeftEye, 0.04f * size, "left eye in the crop");
        Assert.True(MathF.Abs(again.RightEye.Y - again.LeftEye.Y) < 0.03f * size, "eyes level");
    }

    /// <summary>Mean absolute difference between horizontal neighbours: how much fine detail a picture holds.</summary>
    static double Detail(RgbImage image)
    {
        double sum = 0;
        for (int y = 0; y < image.Height; y++)
            for (int x = 3; x < image.Width * 3; x++)
                sum += Math.Abs(image.Pixels[y * image.Width * 3 + x] - image.Pixels[y * image.Width * 3 + x - 3]);
        return sum / (image.Height * (image.Width - 1) * 3);
    }

    [Fact]
    public void A_face_resolution_gives_faces_of_any_size_the_same_detail()
    {
        // The astronaut's face (a crop of about 130 px at margin 1.3) and the same picture at half size (about 65 px).
        var half = Transformed(Astronaut, SKMatrix.CreateScale(0.5f, 0.5f), Astronaut.Width / 2, Astronaut.Height / 2);
        const int size = 192;
        (double Large, double Small) DetailOfBoth(FaceSettings settings)
        {
            using var cropper = new FaceCropper(settings);
            var crops = new[] { Astronaut, half }.Select(p => Assert.Single(cropper.Crops(p, cropper.Scan(p), size, largestOnly: true))).ToList();
            Assert.All(crops, c => Assert.Equal((size, size), (c.Image.Width, c.Image.Height)));
            return (Detail(crops[0].Image), Detail(crops[1].Image));
        }

        // Cut at the size asked for, the smaller face is enlarged further and holds less detail (measured: 4.48 against 5.88).
        var native = DetailOfBoth(new FaceSettings());
        Assert.True(native.Small < 0.85 * native.Large, $"without a resolution: detail {native.Small:F2} (small face) vs {native.Large:F2}");
        // Both cut at 48 px (smaller than either face) and scaled to 192, they hold the same detail (measured: 3.45 for both).
        var even = DetailOfBoth(new FaceSettings { Resolution = 48 });
        Assert.True(Math.Abs(even.Small / even.Large - 1) < 0.05, $"at 48 px: detail {even.Small:F3} (small face) vs {even.Large:F3}");
        Assert.True(even.Large < native.Large, $"cut at 48 px the large face keeps less detail ({even.Large:F2} vs {native.Large:F2})");
    }

    [Fact]
    public void The_fit_recovers_a_known_similarity_exactly()
    {
        var truth = SKMatrix.CreateScaleTranslation(1.7f, 1.7f, 12, -30).PostConcat(SKMatrix.CreateRotationDegrees(25, 40, 50));
        var from = new[] { new Point2(10, 20), new Point2(60, 25), new Point2(35, 50), new Point2(36, 80) };
        var fitted = FaceAligner.Fit(from, from.Select(p => FaceAligner.Apply(truth, p)).ToArray());
        foreach (var p in from) Near(FaceAligner.Apply(truth, p), FaceAligner.Apply(fitted, p), 1e-3f, "mapped point");
    }

    [Fact]
    public void The_faces_command_cuts_reports_and_resumes_and_handles_bad_pictures()
    {
        using var dir = new TempDir();
        File.Copy(Fixtures.Path("astronaut.jpg"), dir.File("images/astronaut.jpg"));
        File.WriteAllBytes(dir.File("images/two.png"), SkiaPixels.EncodePng(TwoAstronauts()));
        File.Copy(Fixtures.Path("grey.png"), dir.File("images/grey.png"));
        File.WriteAllBytes(dir.File("images/cut.jpg"), File.ReadAllBytes(Fixtures.Path("astronaut.jpg"))[..3000]);
        File.WriteAllText(dir.File("images/notes.jpg"), "not an image");
        File.WriteAllBytes(dir.File("images/huge.png"), HugePngHeader(30_000, 30_000));
        string labels = dir.File("labels.csv", "img_name,target,source\nastronaut.jpg,0,nasa\ntwo.png,1,collage\ngrey.png,0,flat\n" +
                                               "cut.jpg,0,nasa\nnotes.jpg,1,text\nhuge.png,1,bomb\n");
        string images = Path.Combine(dir.Path, "images"), outDir = Path.Combine(dir.Path, "faces");

        var run = Cli.Run("faces", "--labels", labels, "--images", images, "--out", outDir, "--size", "128");
        Assert.Equal(1, run.ExitCode); // three pictures cannot be read
        Assert.Contains("cut.jpg", run.Output);
        Assert.Contains("notes.jpg", run.Output);
        Assert.Contains("huge.png", run.Output);

        var kept = LabelFile.ReadLabels(Path.Combine(outDir, "labels.csv"));
        Assert.Equal(["astronaut.jpg", "two.png", "grey.png"], kept.Select(r => r.Name));
        Assert.Equal(["nasa", "collage", "flat"], kept.Select(r => r.Source));
        foreach (var row in kept)
        {
            var header = new ImageDecoder().ReadHeader(Path.Combine(outDir, "images", row.Name));
            Assert.Equal((128, 128), (header.Width, header.Height));
        }
        using (var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, FaceDataset.ReportFile))))
        {
            var summary = report.RootElement.GetProperty("summary");
            Assert.Equal(["grey.png"], summary.GetProperty("noFace").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(["two.png"], summary.GetProperty("multiFace").EnumerateArray().Select(e => e.GetString()));
            var failures = summary.GetProperty("failures").EnumerateArray().ToDictionary(
                f => f.GetProperty("name").GetString()!, f => f.GetProperty("problem").GetString()!);
            Assert.Equal(["cut.jpg", "huge.png", "notes.jpg"], failures.Keys.Order());
            Assert.Contains("above the limit", failures["huge.png"]); // refused from the header, before any pixel is decoded
        }

        var again = Cli.Run("faces", "--labels", labels, "--images", images, "--out", outDir, "--size", "128");
        Assert.Contains("0 / 6", again.Output); // nothing written again: every picture was already done

        var otherSize = Cli.Run("faces", "--labels", labels, "--images", images, "--out", outDir, "--size", "96");
        Assert.Equal(2, otherSize.ExitCode); // 96-px crops would join the 128-px ones unnoticed
        Assert.Contains("cut another way", otherSize.All);
    }

    /// <summary>
    /// A PNG that claims <paramref name="width"/> × <paramref name="height"/> pixels but holds only the first few rows'
    /// worth of data (a decompression bomb's header: decoding it would need gigabytes).
    /// </summary>
    static byte[] HugePngHeader(int width, int height)
    {
        var png = new List<byte> { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A };
        void Chunk(string type, byte[] data)
        {
            var body = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToList();
            png.AddRange(BigEndian(data.Length));
            png.AddRange(body);
            png.AddRange(BigEndian((int)Crc32(body)));
        }
        Chunk("IHDR", [.. BigEndian(width), .. BigEndian(height), 8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no filter, no interlace
        using var compressed = new MemoryStream();
        using (var zlib = new System.IO.Compression.ZLibStream(compressed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
            zlib.Write(new byte[4 * (3 * width + 1)]);
        Chunk("IDAT", compressed.ToArray());
        Chunk("IEND", []);
        return png.ToArray();
    }

    static byte[] BigEndian(int value) => [(byte)(value >> 24), (byte)(value >> 16), (byte)(value >> 8), (byte)value];

    static uint Crc32(IEnumerable<byte> bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }

    [Fact]
    public void A_model_trained_on_faces_predicts_on_faces_by_itself_and_details_list_them()
    {
        using var dir = new TempDir();
        var (labels, images) = WriteAstronauts(dir, "images", 8, "swapped");
        string run = TrainOnFaces(dir, labels, images);
        Assert.True(File.Exists(Path.Combine(run, "faces", "train", FaceDataset.PreviewFile)));
        using (var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "config.json"))))
            Assert.Equal(1.3, config.RootElement.GetProperty("config").GetProperty("Faces").GetProperty("Margin").GetDouble());

        string details = Path.Combine(dir.Path, "details.jsonl"), submission = Path.Combine(dir.Path, "submit.csv");
        var predict = Cli.Run("predict", "--model", Path.Combine(run, "best.ckpt"), "--images", images, "--out", submission, "--details", details);
        Assert.True(predict.ExitCode == 0, predict.All);
        Assert.Contains("on faces", predict.All);
        Assert.StartsWith("img_name,y_pred\n", File.ReadAllText(submission));
        var lines = File.ReadAllLines(details).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(8, lines.Count);
        foreach (var line in lines)
        {
            var face = Assert.Single(line.GetProperty("faces").EnumerateArray());
            Assert.Equal(line.GetProperty("score").GetDouble(), face.GetProperty("fake_probability").GetDouble(), 1e-12);
        }

        var whole = Cli.Run("predict", "--model", Path.Combine(run, "best.ckpt"), "--images", images, "--out", submission, "--no-faces");
        Assert.True(whole.ExitCode == 0, whole.All);
        Assert.DoesNotContain("on faces", whole.All);
    }

    [Fact]
    public void Adapting_a_face_model_cuts_the_new_faces_and_rehearses_on_the_crops_it_was_trained_on()
    {
        using var dir = new TempDir();
        var (labels, images) = WriteAstronauts(dir, "images", 8, "swapped");
        string run = TrainOnFaces(dir, labels, images);
        var (newLabels, newImages) = WriteAstronauts(dir, "new", 20, "new-kind", offset: 3);
        string adapted = Path.Combine(dir.Path, "adapted");
        var adapt = Cli.Run("adapt", "--model", Path.Combine(run, "best.ckpt"), "--labels", newLabels, "--images", newImages,
            "--validation-share", "0.5", "--epochs", "1", "--out", adapted);
        Assert.True(adapt.ExitCode == 0, adapt.All);
        // The new pictures' faces are cut; the rehearsal is the run's own crops (its checkpoint points at them), not
        // cut a second time: a face cut out of a face crop is framed anew, so the old kinds would be rehearsed at
        // another framing than they were learnt at.
        Assert.True(File.Exists(Path.Combine(adapted, "faces", "new", FaceDataset.PreviewFile)));
        Assert.Equal(["new"], Directory.GetDirectories(Path.Combine(adapted, "faces")).Select(Path.GetFileName));
        var rehearsed = File.ReadAllLines(Path.Combine(adapted, "data", "train.csv")).Where(r => r.StartsWith("rehearse/")).ToList();
        Assert.NotEmpty(rehearsed);
        string crops = Path.Combine(run, "faces", "train", "images");
        Assert.All(rehearsed, r => Assert.True(File.Exists(Path.Combine(crops, r.Split(',')[0]["rehearse/".Length..])), r));
    }

    /// <summary>
    /// <paramref name="count"/> pictures of the astronaut at a few sizes and places under <paramref name="folder"/>,
    /// every other one a "fake" with its colours swapped (enough for a label to learn), and their label file.
    /// </summary>
    static (string Labels, string Images) WriteAstronauts(TempDir dir, string folder, int count, string fakeSource, int offset = 0)
    {
        var rows = new List<string> { "img_name,target,source" };
        for (int i = 0; i < count; i++)
        {
            float scale = 0.5f + 0.05f * ((i + offset) % 8);
            var picture = Transformed(Astronaut, new SKMatrix(scale, 0, 20 * ((i + offset) % 8), 0, scale, 10 * ((i + offset) % 8), 0, 0, 1), 480, 400);
            if (i % 2 == 1)
                for (int p = 0; p < picture.Pixels.Length; p += 3)
                    (picture.Pixels[p], picture.Pixels[p + 2]) = (picture.Pixels[p + 2], picture.Pixels[p]);
            File.WriteAllBytes(dir.File($"{folder}/{i}.jpg"), SkiaPixels.EncodeJpeg(picture, 92));
            rows.Add($"{i}.jpg,{i % 2},{(i % 2 == 1 ? fakeSource : "nasa")}");
        }
        return (dir.File($"{folder}.csv", string.Join("\n", rows) + "\n"), Path.Combine(dir.Path, folder));
    }

    /// <summary>Trains a 32-px model on the faces of the labelled pictures (one epoch, random start) and returns its run folder.</summary>
    static string TrainOnFaces(TempDir dir, string labels, string images)
    {
        string run = Path.Combine(dir.Path, "run");
        var train = Cli.Run("train", "--train-labels", labels, "--train-images", images, "--val-fraction", "0.25", "--faces", "--no-pretrained",
            "--epochs", "1", "--image-size", "32", "--batch-size", "4", "--out", run);
        Assert.True(train.ExitCode == 0, train.All);
        return run;
    }

    /// <summary>The astronaut twice, side by side at 60% (two faces of the same size).</summary>
    static RgbImage TwoAstronauts()
    {
        var left = Transformed(Astronaut, SKMatrix.CreateScale(0.6f, 0.6f), 640, 320);
        var right = Transformed(Astronaut, new SKMatrix(0.6f, 0, 320, 0, 0.6f, 0, 0, 0, 1), 640, 320);
        var both = new RgbImage(640, 320);
        for (int y = 0; y < 320; y++)
            for (int x = 0; x < 640; x++)
                for (int c = 0; c < 3; c++)
                {
                    int i = (y * 640 + x) * 3 + c;
                    both.Pixels[i] = x < 320 ? left.Pixels[i] : right.Pixels[i];
                }
        return both;
    }
}
