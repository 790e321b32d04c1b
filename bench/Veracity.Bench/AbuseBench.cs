using System.Diagnostics;
using System.Net.Http.Headers;
using Veracity.Imaging;
using Veracity.Inference;

namespace Veracity.Bench;

/// <summary>
/// <c>veracity serve</c> under abuse, on loopback: N clients (16 by default) send a mix of single pictures, requests
/// of 16 files, 36-megapixel pictures, bad uploads (truncated, not an image) and requests they abandon after a few
/// milliseconds. Reports answers by status and the server's peak RSS against what its limits bound (printed by
/// serve at start), and counts what must never happen: a 5xx other than 503, a 503 without Retry-After, a request
/// left unanswered past the client's 90-s timeout (the server's own timeout is 30 s).
/// </summary>
static class AbuseBench
{
    enum Kind { Single, ManyFiles, Large, Bad, Disconnect }

    public static void Run(BenchOptions options)
    {
        string model = options.String("--model", ""), images = options.String("--images", "");
        if (model == "" || images == "") throw new ArgumentException("abuse needs --model CKPT and --images DIR");
        int clients = options.Int("--clients", 16), seconds = options.Int("--seconds", 60);
        string engine = options.String("--engine", "auto"), url = $"http://127.0.0.1:{options.String("--port", "5092")}";
        var files = Prediction.ListImages(images).Take(64).Select(name => File.ReadAllBytes(Path.Combine(images, name))).ToList();
        byte[] large = LargePicture(6000, 6000);
        Console.WriteLine($"{files.Count} pictures from {images}; a {6000 * 6000 / 1e6:F0}-MP PNG of {large.Length / 1048576.0:F1} MiB; " +
                          $"{clients} clients for {seconds} s");

        var output = new List<string>();
        using var server = LoadBench.StartServer(model, engine, url, "32", "10", output);
        try
        {
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 })
                { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(90) };
            var ready = Stopwatch.StartNew();
            while (!LoadBench.Ready(client)) if (ready.Elapsed > TimeSpan.FromMinutes(5)) throw new TimeoutException("server not ready in 5 minutes");
            double rssReady = LoadBench.RssMiB(server);
            string bound;
            lock (output) bound = output.FirstOrDefault(l => l.Contains("bounded to")) ?? "(serve printed no bound)";
            Console.WriteLine($"server ready; RSS {rssReady:F0} MiB; serve says: {bound.Trim()}");

            var answers = new Dictionary<(Kind, string), int>();
            int violations = 0;
            double rssPeak = rssReady;
            var clock = Stopwatch.StartNew();
            using var sampling = new Timer(_ => rssPeak = Math.Max(rssPeak, LoadBench.RssMiB(server)), null, 0, 100);

            async Task Client(int id)
            {
                var random = new Random(id);
                while (clock.Elapsed.TotalSeconds < seconds)
                {
                    var kind = (Kind)random.Next(5);
                    using var form = new MultipartFormDataContent();
                    void Add(byte[] bytes, string name) => form.Add(new ByteArrayContent(bytes) { Headers = { ContentType = new MediaTypeHeaderValue("application/octet-stream") } }, "image", name);
                    switch (kind)
                    {
                        case Kind.Single: Add(files[random.Next(files.Count)], "face.jpg"); break;
                        case Kind.Large: Add(large, "large.png"); break;
                        case Kind.Bad:
                            var good = files[random.Next(files.Count)];
                            Add(random.Next(2) == 0 ? good[..(good.Length / 3)] : "not an image"u8.ToArray(), "bad.jpg");
                            break;
                        default:
                            for (int i = 0; i < 16; i++) Add(files[random.Next(files.Count)], $"face{i}.jpg");
                            break;
                    }
                    using var leave = new CancellationTokenSource();
                    if (kind == Kind.Disconnect) leave.CancelAfter(random.Next(5, 60));
                    string outcome;
                    try
                    {
                        using var response = await client.PostAsync("/api/v1/score", form, leave.Token);
                        await response.Content.ReadAsByteArrayAsync(leave.Token);
                        int status = (int)response.StatusCode;
                        outcome = status.ToString();
                        bool bad = status >= 500 && (status != 503 || response.Headers.RetryAfter?.Delta is not { TotalSeconds: > 0 and <= 60 });
                        if (bad) Interlocked.Increment(ref violations);
                    }
                    catch (OperationCanceledException) when (leave.IsCancellationRequested)
                    {
                        outcome = "left";
                    }
                    catch (TaskCanceledException)
                    {
                        outcome = "no answer in 90 s";
                        Interlocked.Increment(ref violations);
                    }
                    catch (HttpRequestException e)
                    {
                        outcome = $"connection: {e.HttpRequestError}";
                    }
                    lock (answers) answers[(kind, outcome)] = answers.GetValueOrDefault((kind, outcome)) + 1;
                }
            }

            Task.WaitAll(Enumerable.Range(0, clients).Select(i => Task.Run(() => Client(i))).ToArray());
            double rssEnd = LoadBench.RssMiB(server);
            Console.WriteLine("| request | answers |");
            Console.WriteLine("|---|---|");
            foreach (var group in answers.GroupBy(a => a.Key.Item1).OrderBy(g => g.Key))
                Console.WriteLine($"| {group.Key} | {string.Join(", ", group.OrderBy(a => a.Key.Item2).Select(a => $"{a.Key.Item2}: {a.Value}"))} |");
            Console.WriteLine($"server RSS: ready {rssReady:F0} MiB, peak {Math.Max(rssPeak, rssEnd):F0} MiB, end {rssEnd:F0} MiB");
            Console.WriteLine($"still healthy after: {LoadBench.Ready(client)}; violations (5xx other than 503, 503 without a finite " +
                              $"Retry-After, no answer): {violations}");
        }
        finally
        {
            server.Kill(entireProcessTree: true);
        }
    }

    /// <summary>A smooth gradient PNG: many pixels in few bytes, the picture a decoder pays most for per byte.</summary>
    static byte[] LargePicture(int width, int height)
    {
        var picture = new RgbImage(width, height);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int i = (y * width + x) * 3;
                picture.Pixels[i] = (byte)(x * 255 / width);
                picture.Pixels[i + 1] = (byte)(y * 255 / height);
                picture.Pixels[i + 2] = 128;
            }
        return SkiaPixels.EncodePng(picture);
    }
}
