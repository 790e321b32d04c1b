using System.Diagnostics;
using SkiaSharp;
using Veracity.Faces;
using Veracity.Imaging;

namespace Veracity.Bench;

/// <summary>
/// Face detection speed on one core: 640×480 photographs made from the test fixture's astronaut portrait (NASA,
/// public domain), scaled and placed at random over a grey background, one to three faces each. Prints pictures/s
/// for detection alone and for detection plus alignment of every face found, for both BlazeFace models.
/// </summary>
static class FaceBench
{
    public static void Run(BenchOptions options)
    {
        int count = options.Int("--count", 100), seconds = options.Int("--seconds", 10);
        string portrait = options.String("--portrait",
            Path.Combine(BenchOptions.RepositoryRoot(), "tests", "Veracity.Tests", "Fixtures", "astronaut.jpg"));
        var astronaut = new ImageDecoder().Decode(portrait);
        var photos = Enumerable.Range(0, count).Select(i => Photo(astronaut, new Random(i))).ToList();
        Console.WriteLine($"{count} photographs 640x480 with 1-3 faces each, one thread");
        foreach (var model in new[] { FaceModel.Full, FaceModel.Short })
        {
            using var cropper = new FaceCropper(new FaceSettings { Model = model });
            int found = photos.Sum(p => cropper.Scan(p).Usable.Count);
            Console.WriteLine($"{model}: {found} usable faces (at least 40 px) found in {count} pictures; " +
                              "portraits placed later may cover earlier ones");
            BenchOptions.Report($"{model}: detection", seconds, () =>
            {
                foreach (var photo in photos) cropper.Scan(photo);
                return photos.Count;
            });
            BenchOptions.Report($"{model}: detection + alignment of every face at 256 px", seconds, () =>
            {
                foreach (var photo in photos) cropper.Crops(photo, cropper.Scan(photo), 256, largestOnly: false);
                return photos.Count;
            });
        }
    }

    static RgbImage Photo(RgbImage portrait, Random rng)
    {
        using var source = SkiaPixels.ToBitmap(portrait);
        using var image = SKImage.FromBitmap(source);
        using var photo = new SKBitmap(new SKImageInfo(640, 480, SKColorType.Rgba8888, SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(photo))
        {
            canvas.Clear(new SKColor((byte)rng.Next(60, 200), (byte)rng.Next(60, 200), (byte)rng.Next(60, 200)));
            int faces = rng.Next(1, 4);
            for (int i = 0; i < faces; i++)
            {
                float side = rng.Next(160, 420), x = rng.Next(0, 640 - (int)side / 2), y = rng.Next(0, 480 - (int)side / 2);
                canvas.DrawImage(image, new SKRect(x, y, x + side, y + side), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
            }
        }
        return SkiaPixels.ToRgb(photo);
    }
}
