using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Veracity.Checkpoints;
using Veracity.Data;
using Veracity.Imaging;
using Veracity.Inference;
using Veracity.Models;
using Microsoft.Extensions.DependencyInjection;
using static TorchSharp.torch;

namespace Veracity.Tests;

[Collection(ServedModelCollection.Name)]
public class ServerTests(ServedModel served)
{
    static readonly JsonSerializerOptions Snake = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    sealed record FaceBox(float X, float Y, float Width, float Height, float Confidence, double FakeProbability);
    sealed record Scored(string Name, double FakeProbability, string Verdict, double Threshold, int Width, int Height, double ElapsedMs,
        List<FaceBox>? Faces);
    sealed record ScoreBody(List<Scored> Results);
    sealed record Problem(string Type, string Title, int Status, string Detail);
    sealed record Map(int Width, int Height, float[][] Values);
    sealed record Explained(string Name, double FakeProbability, string Verdict, int Width, int Height, Map Map, string OverlayPng);

    static async Task<T> Read<T>(HttpResponseMessage response) => (await response.Content.ReadFromJsonAsync<T>(Snake))!;

    [Fact]
    public async Task Scores_jpeg_and_png_files_in_one_request_as_the_offline_path_does()
    {
        using var dir = new TempDir();
        string jpeg = served.Images[0], png = served.Png(dir), second = served.Images[2];
        await using var server = await Served.StartAsync(served.Checkpoint);

        var response = await server.Client.PostAsync("/api/v1/score", Served.Form(jpeg, png, second));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var results = (await Read<ScoreBody>(response)).Results;
        Assert.Equal([Path.GetFileName(jpeg), "image1.png", Path.GetFileName(second)], results.Select(r => r.Name));

        using var detector = Detector.Load(served.Checkpoint, Engine.Torch);
        var offline = Prediction.Run(detector, dir.Path, [Path.GetFileName(png)], new ScoringOptions(), OnError.Fail).Images
            .Concat(Prediction.Run(detector, Path.GetDirectoryName(jpeg)!, [Path.GetFileName(jpeg), Path.GetFileName(second)], new ScoringOptions(),
                OnError.Fail).Images).ToDictionary(i => i.Name, i => i.Score!.Value);
        foreach (var result in results)
        {
            Assert.Equal(offline[result.Name], result.FakeProbability, 1e-5);
            Assert.Equal(detector.Info.Threshold, result.Threshold);
            Assert.Equal(result.FakeProbability >= result.Threshold ? "deepfake" : "real", result.Verdict);
            Assert.Equal((64, 64), (result.Width, result.Height));
        }
    }

    [Fact]
    public async Task A_request_threshold_overrides_the_models_and_a_bad_one_is_refused()
    {
        await using var server = await Served.StartAsync(served.Checkpoint);
        var all = await Read<ScoreBody>(await server.Client.PostAsync("/api/v1/score?threshold=0", Served.Form(served.Images[0], served.Images[1])));
        Assert.All(all.Results, r => Assert.Equal(("deepfake", 0.0), (r.Verdict, r.Threshold)));

        var bad = await server.Client.PostAsync("/api/v1/score?threshold=1.5", Served.Form(served.Images[0]));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("1.5", (await Read<Problem>(bad)).Detail);
    }

    [Fact]
    public async Task Explain_returns_a_png_of_the_images_size_and_the_class_activation_map()
    {
        using var dir = new TempDir();
        // A 96×80 picture: larger than the 64-px input and not square, so the overlay's size is the picture's, not the network's.
        string path = dir.File("wide.png");
        File.WriteAllBytes(path, SkiaPixels.EncodePng(new ImageDecoder().Decode(served.Images[3], 96, 80)));
        await using var server = await Served.StartAsync(served.Checkpoint);

        var png = await server.Client.PostAsync("/api/v1/explain", Served.Form(path));
        Assert.Equal(HttpStatusCode.OK, png.StatusCode);
        Assert.Equal("image/png", png.Content.Headers.ContentType!.MediaType);
        var header = new ImageDecoder().ReadHeader(await png.Content.ReadAsByteArrayAsync(), "overlay");
        Assert.Equal((96, 80, "PNG"), (header.Width, header.Height, header.Format));

        var explained = await Read<Explained>(await server.Client.PostAsync("/api/v1/explain?format=json", Served.Form(path)));
        Assert.Equal((96, 80), (explained.Width, explained.Height));
        Assert.Equal((2, 2), (explained.Map.Width, explained.Map.Height));
        var overlay = new ImageDecoder().ReadHeader(Convert.FromBase64String(explained.OverlayPng), "overlay");
        Assert.Equal((96, 80), (overlay.Width, overlay.Height));

        // The same probability as /score, and the map computed directly: the last stage run layer by layer in NCHW
        // float32, times the head's fake-minus-real weights.
        var scored = await Read<ScoreBody>(await server.Client.PostAsync("/api/v1/score", Served.Form(path)));
        Assert.Equal(scored.Results[0].FakeProbability, explained.FakeProbability, 1e-5);
        var (info, model) = Checkpoint.Load(served.Checkpoint);
        using var resnet = (ResNet)model;
        resnet.eval();
        var chw = new float[3 * 64 * 64];
        info.Normalize.WriteChw(new ImageDecoder().Decode(path, 64, 64), chw);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var x = tensor(chw, [1, 3, 64, 64]);
        var stem = nn.functional.max_pool2d(resnet.bn1.call(resnet.conv1.call(x)).relu(), 3, stride: 2, padding: 1);
        var lastStage = resnet.layer4.call(resnet.layer3.call(resnet.layer2.call(resnet.layer1.call(stem))));
        var weights = resnet.fc.weight!;
        var expected = einsum("nchw,c->nhw", lastStage, weights[1] - weights[0])[0];
        var expectedValues = expected.data<float>().ToArray();
        var got = explained.Map.Values.SelectMany(row => row).ToArray();
        float scale = expectedValues.Max(Math.Abs);
        for (int i = 0; i < got.Length; i++)
            Assert.True(Math.Abs(got[i] - expectedValues[i]) <= 1e-4 * scale + 1e-5, $"cell {i}: {got[i]} vs {expectedValues[i]}");

        // Grad-CAM identity for a pooled linear head: mean evidence + (b_fake − b_real) is the logit margin.
        var bias = resnet.fc.bias!;
        double margin = got.Average() + (bias[1] - bias[0]).item<float>();
        double p = explained.FakeProbability;
        Assert.Equal(Math.Log(p / (1 - p)), margin, 1e-3);
    }

    [Fact]
    public void Onnx_runtime_and_torchsharp_give_the_same_heatmap()
    {
        using var torchDetector = Detector.Load(served.Checkpoint, Engine.Torch);
        using var onnxDetector = Detector.Load(served.Checkpoint, Engine.Onnx);
        var chw = new float[3 * 64 * 64];
        torchDetector.Info.Normalize.WriteChw(new ImageDecoder().Decode(served.Images[5], 64, 64), chw);
        var image = new PixelBatch(chw, 1, 64, 64);
        var (viaTorch, viaOnnx) = (torchDetector.Explain(image), onnxDetector.Explain(image));
        Assert.Equal(viaTorch.FakeProbability, viaOnnx.FakeProbability, 1e-5);
        Assert.Equal((viaTorch.Width, viaTorch.Height), (viaOnnx.Width, viaOnnx.Height));
        float scale = viaTorch.Evidence.Max(Math.Abs);
        Assert.All(viaTorch.Evidence.Zip(viaOnnx.Evidence), pair => Assert.True(Math.Abs(pair.First - pair.Second) <= 1e-4 * scale, $"{pair}"));
    }

    [Fact]
    public async Task On_faces_each_face_is_scored_with_its_box_and_the_picture_takes_the_most_suspicious()
    {
        await using var server = await Served.StartAsync(served.Checkpoint, o => o with { Faces = true });
        var whole = await Read<ScoreBody>(await server.Client.PostAsync("/api/v1/score",
            Served.Form(Fixtures.Path("astronaut.jpg"), served.Images[0])));
        var astronaut = whole.Results[0];
        var face = Assert.Single(astronaut.Faces!);
        Assert.InRange(face.X + face.Width / 2, 211, 241); // the face found by eye at about (226, 118) in FaceTests
        Assert.InRange(face.Y + face.Height / 2, 103, 133);
        Assert.Equal(face.FakeProbability, astronaut.FakeProbability);
        Assert.Empty(whole.Results[1].Faces!); // a synthetic scene: no usable face, scored whole

        using var detector = Detector.Load(served.Checkpoint, Engine.Torch);
        var offline = Prediction.Run(detector, Path.GetDirectoryName(Fixtures.Path("astronaut.jpg"))!, ["astronaut.jpg"], new ScoringOptions(),
            OnError.Fail, faces: new Faces.FaceSettings());
        Assert.Equal(offline.Images[0].Score!.Value, astronaut.FakeProbability, 1e-5);

        var explained = await Read<Explained>(await server.Client.PostAsync("/api/v1/explain?format=json",
            Served.Form(Fixtures.Path("astronaut.jpg"))));
        Assert.Equal((512, 512), (explained.Width, explained.Height));
        Assert.Equal(astronaut.FakeProbability, explained.FakeProbability, 1e-5);
        var overlay = new ImageDecoder().ReadHeader(Convert.FromBase64String(explained.OverlayPng), "overlay");
        Assert.Equal((512, 512), (overlay.Width, overlay.Height));
    }

    public static TheoryData<string, int, string> BadUploads => new()
    {
        { "empty", 400, "empty" },
        { "text", 415, "not-an-image" },
        { "truncated", 422, "truncated" },
        { "too-big", 413, "too-big" },
        { "too-many-pixels", 413, "too-many-pixels" },
        { "no-file-field", 400, "no-file" },
        { "too-many-files", 413, "too-many-files" },
        { "not-multipart", 415, "not-multipart" },
    };

    [Theory]
    [MemberData(nameof(BadUploads))]
    public async Task Every_bad_upload_gets_a_problem_that_names_it_and_the_server_goes_on(string kind, int status, string type)
    {
        byte[] jpeg = File.ReadAllBytes(served.Images[0]);
        await using var server = await Served.StartAsync(served.Checkpoint,
            o => o with { MaxFiles = 2, MaxFileBytes = 64 * 1024, MaxPixels = 64 * 64 });
        HttpContent body = kind switch
        {
            "empty" => Served.Form([("empty.jpg", Array.Empty<byte>())]),
            "text" => Served.Form([("notes.jpg", "this is not an image"u8.ToArray())]),
            "truncated" => Served.Form([("cut.jpg", jpeg[..(jpeg.Length / 2)])]),
            "too-big" => Served.Form([("big.jpg", jpeg.Concat(new byte[70 * 1024]).ToArray())]),
            "too-many-pixels" => Served.Form([("large.png", SkiaPixels.EncodePng(new RgbImage(65, 64)))]),
            "no-file-field" => Served.Form([("face.jpg", jpeg)], field: "file"),
            "too-many-files" => Served.Form([("a.jpg", jpeg), ("b.jpg", jpeg), ("c.jpg", jpeg)]),
            _ => JsonContent.Create(new { image = "face.jpg" }),
        };

        var response = await server.Client.PostAsync("/api/v1/score", body);
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = await Read<Problem>(response);
        Assert.Equal($"urn:veracity:problem:{type}", problem.Type);
        Assert.Equal(status, problem.Status);
        string? named = kind switch { "empty" => "empty.jpg", "text" => "notes.jpg", "truncated" => "cut.jpg", "too-big" => "big.jpg",
            "too-many-pixels" => "large.png", _ => null };
        if (named is not null) Assert.Contains(named, problem.Detail);
        Assert.Equal(1, await server.MetricAsync("veracity_rejected_uploads_total", $"problem=\"{type}\""));

        var good = await server.Client.PostAsync("/api/v1/score", Served.Form(served.Images[0]));
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
    }

    [Fact]
    public async Task With_an_api_key_the_api_needs_it_and_health_stays_open()
    {
        await using var server = await Served.StartAsync(served.Checkpoint, o => o with { ApiKey = "s3cret-key" });
        var none = await server.Client.GetAsync("/api/v1/model");
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("Bearer", none.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal("application/problem+json", none.Content.Headers.ContentType!.MediaType);

        async Task<HttpStatusCode> With(string key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/score") { Content = Served.Form(served.Images[0]) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            return (await server.Client.SendAsync(request)).StatusCode;
        }
        Assert.Equal(HttpStatusCode.Unauthorized, await With("s3cret-kez"));
        Assert.Equal(HttpStatusCode.Unauthorized, await With("s3cret"));
        Assert.Equal(HttpStatusCode.OK, await With("s3cret-key"));
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/healthz")).StatusCode);

        await using var open = await Served.StartAsync(served.Checkpoint);
        Assert.Equal(HttpStatusCode.OK, (await open.Client.GetAsync("/api/v1/model")).StatusCode);
    }

    [Fact]
    public async Task A_full_queue_answers_503_with_retry_after_and_the_queued_requests_still_finish()
    {
        var gate = new Gate();
        await using var server = await Served.StartAsync(served.Checkpoint, o => o with { MaxBatch = 1, QueueCapacity = 2, MaxFiles = 2 }, gate);
        gate.Armed = true;
        var first = server.Client.PostAsync("/api/v1/score", Served.Form(served.Images[0]));
        Assert.True(await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30)), "the first batch reached the network");
        var queued = new[] { served.Images[1], served.Images[2] }.Select(f => server.Client.PostAsync("/api/v1/score", Served.Form(f))).ToList();
        await Until(() => server.Scorer.Queued == 2);

        var refused = await server.Client.PostAsync("/api/v1/score", Served.Form(served.Images[3]));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter!.Delta);
        Assert.Equal("urn:veracity:problem:busy", (await Read<Problem>(refused)).Type);

        gate.Open();
        foreach (var response in queued.Prepend(first)) Assert.Equal(HttpStatusCode.OK, (await response).StatusCode);
    }

    [Fact]
    public async Task A_client_that_disconnects_has_its_images_dropped_before_the_network()
    {
        var gate = new Gate();
        await using var server = await Served.StartAsync(served.Checkpoint, o => o with { MaxBatch = 1 }, gate);
        double scoredBefore = await server.MetricAsync("veracity_images_scored_total");
        gate.Armed = true;
        var first = server.Client.PostAsync("/api/v1/score", Served.Form(served.Images[0]));
        Assert.True(await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30)));

        using var leaving = new CancellationTokenSource();
        var abandoned = server.Client.PostAsync("/api/v1/score", Served.Form(served.Images[1], served.Images[2]), leaving.Token);
        await Until(() => server.Scorer.Queued == 2);
        leaving.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);

        gate.Open();
        Assert.Equal(HttpStatusCode.OK, (await first).StatusCode);
        await Until(() => server.Scorer.Queued == 0);
        await Until(async () => await server.MetricAsync("veracity_images_cancelled_total") == 2);
        Assert.Equal(scoredBefore + 1, await server.MetricAsync("veracity_images_scored_total"));
    }

    [Fact]
    public async Task Health_says_ready_only_after_the_warm_up_batch()
    {
        var gate = new Gate { Armed = true };
        await using var server = await Served.StartAsync(served.Checkpoint, gate: gate, waitUntilReady: false);
        Assert.True(await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30)), "warm-up reached the network");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await server.Client.GetAsync("/healthz")).StatusCode);
        gate.Open();
        await server.WaitUntilReadyAsync();
    }

    [Fact]
    public async Task Metrics_count_requests_by_route_and_status_images_batches_and_model_load()
    {
        await using var server = await Served.StartAsync(served.Checkpoint);
        double images = await server.MetricAsync("veracity_images_scored_total");
        double batches = await server.MetricAsync("veracity_batch_size_count");
        await server.Client.PostAsync("/api/v1/score", Served.Form(served.Images[0], served.Images[1]));
        await server.Client.PostAsync("/api/v1/score", Served.Form([("x.jpg", "nope"u8.ToArray())]));

        Assert.Equal(images + 2, await server.MetricAsync("veracity_images_scored_total"));
        Assert.True(await server.MetricAsync("veracity_batch_size_count") > batches);
        Assert.Equal(1, await server.MetricAsync("http_requests_received_total", "code=\"200\"", "method=\"POST\""));
        Assert.Equal(1, await server.MetricAsync("http_requests_received_total", "code=\"415\"", "method=\"POST\""));
        Assert.True(await server.MetricAsync("http_request_duration_seconds_count", "code=\"200\"", "method=\"POST\"") >= 1);
        Assert.True(await server.MetricAsync("veracity_model_load_seconds") > 0);
        string text = await server.Client.GetStringAsync("/metrics");
        Assert.Contains("endpoint=\"/api/v1/score\"", text);
        Assert.Contains("veracity_queue_length", text);
    }

    [Fact]
    public async Task A_client_over_the_rate_limit_gets_429_with_retry_after()
    {
        await using var server = await Served.StartAsync(served.Checkpoint, o => o with { RateLimitPerMinute = 2 });
        for (int i = 0; i < 2; i++) Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/api/v1/model")).StatusCode);
        var limited = await server.Client.GetAsync("/api/v1/model");
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.NotNull(limited.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task The_page_the_api_description_and_the_model_card_are_served()
    {
        await using var server = await Served.StartAsync(served.Checkpoint);
        string page = await server.Client.GetStringAsync("/");
        Assert.Contains("id=\"file-input\"", page);
        Assert.Contains("Veracity", await server.Client.GetStringAsync("/api.html"));
        Assert.Contains("/api/v1/score", await server.Client.GetStringAsync("/openapi/v1.json"));

        using var card = JsonDocument.Parse(await server.Client.GetStringAsync("/api/v1/model"));
        var root = card.RootElement;
        Assert.Equal(("resnet18", 64, "torch"), (root.GetProperty("backbone").GetString(), root.GetProperty("image_size").GetInt32(),
            root.GetProperty("engine").GetString()));
        Assert.True(root.GetProperty("heatmaps").GetBoolean());
        Assert.DoesNotContain(served.Data.Root, card.RootElement.GetRawText()); // no local paths
    }

    [Fact]
    public async Task Stopping_the_server_lets_an_in_flight_request_finish()
    {
        var gate = new Gate();
        var server = await Served.StartAsync(served.Checkpoint, gate: gate, loopback: true);
        gate.Armed = true;
        var inFlight = server.Client.PostAsync("/api/v1/score", Served.Form(served.Images[0]));
        Assert.True(await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30)));
        var stopping = server.App.StopAsync();
        var lifetime = server.App.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>();
        Assert.True(lifetime.ApplicationStopping.WaitHandle.WaitOne(TimeSpan.FromSeconds(30)), "the server began to stop");
        Assert.False(inFlight.IsCompleted, "the request in flight is held at the network, not cut off by the stop");
        gate.Open();
        Assert.Equal(HttpStatusCode.OK, (await inFlight).StatusCode);
        await stopping;
        await server.DisposeAsync();
    }

    [Fact]
    public async Task A_request_that_finds_every_request_slot_taken_gets_503_before_its_body_is_decoded()
    {
        var gate = new Gate();
        await using var server = await Served.StartAsync(served.Checkpoint, o => o with { MaxConcurrentRequests = 1 }, gate);
        gate.Armed = true;
        var first = server.Client.PostAsync("/api/v1/score", Served.Form(served.Images[0]));
        Assert.True(await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30)), "the first request reached the network");

        var refused = await server.Client.PostAsync("/api/v1/score", Served.Form(served.Images[1]));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter!.Delta);
        Assert.Equal(0, server.Scorer.Queued); // it never reached the queue
        gate.Open();
        Assert.Equal(HttpStatusCode.OK, (await first).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.PostAsync("/api/v1/score", Served.Form(served.Images[1]))).StatusCode);
    }

    [Fact]
    public async Task A_declared_body_over_the_request_limit_is_refused_413_unread()
    {
        await using var server = await Served.StartAsync(served.Checkpoint, o => o with { MaxFiles = 1, MaxFileBytes = 64 * 1024 });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/score") { Content = new StreamContent(new HangingStream()) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=x");
        request.Content.Headers.ContentLength = 10L * 1024 * 1024; // declared, never sent: the answer must come from the header alone
        var response = await server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("urn:veracity:problem:too-big", (await Read<Problem>(response)).Type);
    }

    /// <summary>A request body that never arrives.</summary>
    sealed class HangingStream : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => 0; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("read synchronously");
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancel = default)
        {
            await Task.Delay(Timeout.Infinite, cancel);
            return 0;
        }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Fact]
    public void A_queue_smaller_than_a_full_request_is_refused_at_start()
    {
        var e = Assert.Throws<VeracityException>(() =>
            Veracity.Server.ServerApp.Build(new Veracity.Server.ServeOptions { Model = served.Checkpoint, MaxBatch = 4, QueueCapacity = 8, MaxFiles = 16 }));
        Assert.Contains("--queue", e.Message);
        Assert.Contains("--max-files", e.Message);
    }

    [Fact]
    public async Task A_request_with_more_faces_than_the_queue_holds_gets_413_not_an_endless_503()
    {
        using var dir = new TempDir();
        var astronaut = new ImageDecoder().Decode(Fixtures.Path("astronaut.jpg"));
        var pair = new RgbImage(astronaut.Width * 2, astronaut.Height);
        int row = astronaut.Width * 3;
        for (int y = 0; y < astronaut.Height; y++)
            for (int side = 0; side < 2; side++)
                astronaut.Pixels.AsSpan(y * row, row).CopyTo(pair.Pixels.AsSpan(y * 2 * row + side * row));
        string twoFaces = dir.File("two-faces.png");
        File.WriteAllBytes(twoFaces, SkiaPixels.EncodePng(pair));

        await using var server = await Served.StartAsync(served.Checkpoint, o => o with { Faces = true, MaxBatch = 1, QueueCapacity = 1, MaxFiles = 1 });
        var response = await server.Client.PostAsync("/api/v1/score", Served.Form(twoFaces));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var problem = await Read<Problem>(response);
        Assert.Equal("urn:veracity:problem:too-many-inputs", problem.Type);
        Assert.Contains("2 faces", problem.Detail);
        Assert.Equal(HttpStatusCode.OK, (await server.Client.PostAsync("/api/v1/score", Served.Form(Fixtures.Path("astronaut.jpg")))).StatusCode);
    }

    [Fact]
    public async Task Explain_takes_its_place_in_the_queue_and_is_refused_when_the_queue_is_full()
    {
        var gate = new Gate();
        await using var server = await Served.StartAsync(served.Checkpoint, o => o with { MaxBatch = 1, QueueCapacity = 1, MaxFiles = 1 }, gate);
        gate.Armed = true;
        var first = server.Client.PostAsync("/api/v1/score", Served.Form(served.Images[0]));
        Assert.True(await gate.Entered.WaitAsync(TimeSpan.FromSeconds(30)));
        var queued = server.Client.PostAsync("/api/v1/score", Served.Form(served.Images[1]));
        await Until(() => server.Scorer.Queued == 1);

        var refused = await server.Client.PostAsync("/api/v1/explain", Served.Form(served.Images[2])).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("urn:veracity:problem:busy", (await Read<Problem>(refused)).Type);

        gate.Open();
        Assert.Equal(HttpStatusCode.OK, (await first).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await queued).StatusCode);
        var explained = await server.Client.PostAsync("/api/v1/explain", Served.Form(served.Images[2]));
        Assert.Equal(HttpStatusCode.OK, explained.StatusCode);
        Assert.Equal("image/png", explained.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task A_dead_scoring_worker_turns_health_to_503_answers_waiting_requests_and_stops_the_server()
    {
        bool warm = false;
        await using var server = await Served.StartAsync(served.Checkpoint, network: score => batch =>
            Volatile.Read(ref warm) ? throw new OutOfMemoryException("a test's fault") : score(batch));
        Volatile.Write(ref warm, true);
        var lifetime = server.App.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>();

        var response = await server.Client.PostAsync("/api/v1/score", Served.Form(served.Images[0])).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("scoring worker has stopped", (await Read<Problem>(response)).Detail);
        var health = await server.Client.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        Assert.Contains("failed", await health.Content.ReadAsStringAsync());
        Assert.True(lifetime.ApplicationStopping.WaitHandle.WaitOne(TimeSpan.FromSeconds(30)), "the server stops so a supervisor restarts it");
        Assert.IsType<OutOfMemoryException>(server.Scorer.Failure);
    }

    [Fact]
    public async Task Failed_key_guesses_count_against_the_rate_limit_and_protect_metrics_guards_metrics_and_openapi()
    {
        await using var server = await Served.StartAsync(served.Checkpoint, o => o with { ApiKey = "s3cret-key", RateLimitPerMinute = 2, ProtectMetrics = true });
        async Task<HttpStatusCode> Guess(string path)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "guess");
            return (await server.Client.SendAsync(request)).StatusCode;
        }
        Assert.Equal(HttpStatusCode.Unauthorized, await Guess("/api/v1/model"));
        Assert.Equal(HttpStatusCode.Unauthorized, await Guess("/metrics"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await Guess("/openapi/v1.json"));
        Assert.Equal(HttpStatusCode.OK, (await server.Client.GetAsync("/healthz")).StatusCode);

        await using var open = await Served.StartAsync(served.Checkpoint, o => o with { ApiKey = "s3cret-key" });
        Assert.Equal(HttpStatusCode.OK, (await open.Client.GetAsync("/metrics")).StatusCode); // without --protect-metrics, as before
    }

    [Fact]
    public async Task Behind_a_known_proxy_the_rate_limit_counts_each_forwarded_client()
    {
        async Task<HttpStatusCode[]> Clients(Served server) => await Task.WhenAll(new[] { "10.0.0.1", "10.0.0.1", "10.0.0.2" }.Select(async client =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/model");
            request.Headers.Add("X-Forwarded-For", client);
            return (await server.Client.SendAsync(request)).StatusCode;
        }).ToList().Select(async t => await t));

        await using (var proxied = await Served.StartAsync(served.Checkpoint, o => o with { RateLimitPerMinute = 1, ForwardedFrom = ["127.0.0.1"] }, loopback: true))
        {
            var codes = await Clients(proxied);
            Assert.Equal(1, codes[..2].Count(c => c == HttpStatusCode.TooManyRequests));
            Assert.Equal(HttpStatusCode.OK, codes[2]);
        }
        await using var direct = await Served.StartAsync(served.Checkpoint, o => o with { RateLimitPerMinute = 1 }, loopback: true);
        Assert.Equal(2, (await Clients(direct)).Count(c => c == HttpStatusCode.TooManyRequests)); // one client: the proxy's address
    }

    static async Task Until(Func<bool> condition) => await Until(() => Task.FromResult(condition()));

    static async Task Until(Func<Task<bool>> condition)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline; await Task.Delay(20))
            if (await condition()) return;
        throw new TimeoutException("condition not reached in 30 s");
    }
}
