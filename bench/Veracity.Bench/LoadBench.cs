using System.Diagnostics;
using System.Net.Http.Headers;
using Veracity.Inference;

namespace Veracity.Bench;

/// <summary>
/// Load on <c>veracity serve</c>: measures offline <c>predict</c> speed on the same images, size and engine first,
/// then starts the server as a child process on a loopback port and runs N concurrent single-image clients
/// against <c>/api/v1/score</c> for a fixed time per N. Prints requests/s, images/s (and their ratio to offline),
/// p50/p95/p99 latency, answers by status, and the server's RSS at start, peak and end of each phase. Bounded in
/// time and requests, and only ever aimed at the server it started on 127.0.0.1.
/// </summary>
static class LoadBench
{
    public static void Run(BenchOptions options)
    {
        string model = options.String("--model", "");
        string images = options.String("--images", "");
        if (model == "" || images == "") throw new ArgumentException("load needs --model CKPT and --images DIR");
        int[] clientCounts = options.Ints("--clients", [1, 4, 16]);
        int seconds = options.Int("--seconds", 30), maxRequests = options.Int("--max-requests", 100_000);
        double badFraction = options.Int("--bad-percent", 0) / 100.0;
        string engine = options.String("--engine", "auto"), port = options.String("--port", "5091");
        var files = Prediction.ListImages(images).Select(name => (Name: name, Bytes: File.ReadAllBytes(Path.Combine(images, name)))).ToList();

        double offline = OfflineImagesPerSecond(model, engine, images, files.Select(f => f.Name).ToList());
        string url = $"http://127.0.0.1:{port}";
        using var server = StartServer(model, engine, url, options.String("--max-batch", "32"), options.String("--max-wait-ms", "10"));
        try
        {
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 })
                { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
            var ready = Stopwatch.StartNew();
            while (!Ready(client)) if (ready.Elapsed > TimeSpan.FromMinutes(5)) throw new TimeoutException("server not ready in 5 minutes");
            Console.WriteLine($"server ready after {ready.Elapsed.TotalSeconds:F1} s (load, warm-up batches); RSS {RssMiB(server):F0} MiB");
            Console.WriteLine($"{files.Count} images from {images}; {seconds} s per phase; {badFraction:P0} bad uploads mixed in");
            Console.WriteLine("| clients | requests/s | images/s | vs offline | mean batch | p50 ms | p95 ms | p99 ms | answers | " +
                              "RSS start/peak/end MiB |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
            foreach (int clients in clientCounts)
                Console.WriteLine(Phase(client, server, files, clients, seconds, maxRequests, badFraction, offline));
        }
        finally
        {
            server.Kill(entireProcessTree: true);
        }
    }

    /// <summary>`predict`'s path in this process (batch 32, 2 decoding workers): one pass to warm up, then timed passes.</summary>
    static double OfflineImagesPerSecond(string model, string engine, string root, IReadOnlyList<string> names)
    {
        using var detector = Detector.Load(model, Enum.Parse<Engine>(engine, ignoreCase: true));
        var options = new ScoringOptions();
        Prediction.Run(detector, root, names, options, OnError.Fail);
        var clock = Stopwatch.StartNew();
        int scored = 0;
        while (clock.Elapsed.TotalSeconds < 10) scored += Prediction.Run(detector, root, names, options, OnError.Fail).Images.Count;
        double rate = scored / clock.Elapsed.TotalSeconds;
        Console.WriteLine($"offline predict ({detector.Engine}, {detector.Info.ImageSize}px, batch 32, 2 workers): {rate:F1} images/s");
        return rate;
    }

    /// <summary>The serve process; what it prints on standard output is kept in <paramref name="output"/> when given.</summary>
    internal static Process StartServer(string model, string engine, string url, string maxBatch, string maxWaitMs, List<string>? output = null)
    {
        string cli = Path.Combine(BenchOptions.RepositoryRoot(), "src", "Veracity.Cli", "bin", "Release", "net10.0", "linux-x64", "Veracity.Cli.dll");
        if (!File.Exists(cli)) throw new FileNotFoundException($"build the CLI first (dotnet build -c Release): {cli}");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in new[] { cli, "serve", "--model", model, "--engine", engine, "--urls", url,
                                       "--max-batch", maxBatch, "--max-wait-ms", maxWaitMs })
            start.ArgumentList.Add(arg);
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null && output is not null) lock (output) output.Add(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine($"server: {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    internal static bool Ready(HttpClient client)
    {
        try
        {
            return client.GetAsync("/healthz").Result.IsSuccessStatusCode;
        }
        catch (AggregateException)
        {
            Thread.Sleep(250);
            return false;
        }
    }

    static string Phase(HttpClient client, Process server, List<(string Name, byte[] Bytes)> files, int clients, int seconds, int maxRequests,
        double badFraction, double offline)
    {
        var (batchSum, batchCount) = BatchTotals(client);
        var latencies = new List<double>();
        var answers = new Dictionary<int, int>();
        int next = -1, good = 0;
        double rssStart = RssMiB(server), rssPeak = rssStart;
        var clock = Stopwatch.StartNew();
        var timeline = new List<string>();
        int nextMark = 20;
        using var sampling = new Timer(_ =>
        {
            double rss = RssMiB(server);
            rssPeak = Math.Max(rssPeak, rss);
            if (clock.Elapsed.TotalSeconds >= nextMark && nextMark <= seconds)
            {
                lock (timeline) timeline.Add($"{nextMark} s: {rss:F0}");
                nextMark += 20;
            }
        }, null, 0, 250);

        async Task Client(int id)
        {
            var random = new Random(id);
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                int n = Interlocked.Increment(ref next);
                if (n >= maxRequests) return;
                var (name, bytes) = files[n % files.Count];
                bool bad = random.NextDouble() < badFraction;
                if (bad) (name, bytes) = random.Next(2) == 0 ? ("bad.jpg", bytes[..(bytes.Length / 3)]) : ("bad.jpg", "not an image"u8.ToArray());
                using var form = new MultipartFormDataContent();
                var content = new ByteArrayContent(bytes);
                content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
                form.Add(content, "image", name);
                var sent = Stopwatch.StartNew();
                int status;
                try
                {
                    using var response = await client.PostAsync("/api/v1/score", form);
                    await response.Content.ReadAsByteArrayAsync();
                    status = (int)response.StatusCode;
                }
                catch (HttpRequestException)
                {
                    status = 0;
                }
                lock (latencies)
                {
                    answers[status] = answers.GetValueOrDefault(status) + 1;
                    if (status == 200)
                    {
                        latencies.Add(sent.Elapsed.TotalMilliseconds);
                        good++;
                    }
                }
            }
        }

        Task.WaitAll(Enumerable.Range(0, clients).Select(i => Task.Run(() => Client(i))).ToArray());
        double elapsed = clock.Elapsed.TotalSeconds;
        double rssEnd = RssMiB(server);
        var (batchSumEnd, batchCountEnd) = BatchTotals(client);
        double meanBatch = (batchSumEnd - batchSum) / Math.Max(1, batchCountEnd - batchCount);
        latencies.Sort();
        double Percentile(double p) => latencies.Count == 0 ? double.NaN : latencies[Math.Min(latencies.Count - 1, (int)(p * latencies.Count))];
        int requests = answers.Values.Sum();
        if (timeline.Count > 1) Console.WriteLine($"server RSS (MiB) over the {clients}-client phase: {string.Join(", ", timeline)}");
        string byStatus = string.Join(", ", answers.OrderBy(a => a.Key).Select(a => $"{(a.Key == 0 ? "no answer" : a.Key)}: {a.Value}"));
        return $"| {clients} | {requests / elapsed:F1} | {good / elapsed:F1} | {good / elapsed / offline:P0} | " +
               $"{meanBatch:F1} | {Percentile(0.5):F0} | " +
               $"{Percentile(0.95):F0} | {Percentile(0.99):F0} | {byStatus} | {rssStart:F0} / {Math.Max(rssPeak, rssEnd):F0} / {rssEnd:F0} |";
    }

    /// <summary>The server's batch-size histogram so far: images scored and batches run.</summary>
    static (double Sum, double Count) BatchTotals(HttpClient client)
    {
        var lines = client.GetStringAsync("/metrics").Result.Split('\n');
        double Value(string name) =>
            double.Parse(lines.First(l => l.StartsWith(name + " ")).Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        return (Value("veracity_batch_size_sum"), Value("veracity_batch_size_count"));
    }

    internal static double RssMiB(Process process)
    {
        try
        {
            string line = File.ReadLines($"/proc/{process.Id}/status").First(l => l.StartsWith("VmRSS:"));
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
