using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Veracity.Data;
using Veracity.Imaging;
using Veracity.Inference;
using Veracity.Server;

namespace Veracity.Tests;

/// <summary>The tiny model at 64 px (a 2×2 evidence map), shared by the server tests.</summary>
public sealed class ServedModel() : TinyModel(imageSize: 64)
{
    public IReadOnlyList<string> Images => Directory.GetFiles(Path.Combine(Data.Root, "valset")).Order(StringComparer.Ordinal).ToList();

    /// <summary>One of the images re-encoded as PNG in <paramref name="dir"/>.</summary>
    public string Png(TempDir dir, int index = 1)
    {
        string path = dir.File($"image{index}.png");
        File.WriteAllBytes(path, SkiaPixels.EncodePng(new ImageDecoder().Decode(Images[index])));
        return path;
    }
}

/// <summary>The server and browser tests share one trained model (and run one after the other).</summary>
[CollectionDefinition(Name)]
public sealed class ServedModelCollection : ICollectionFixture<ServedModel>
{
    public const string Name = "served model";
}

/// <summary>
/// Holds the network's batches while armed: the test sees a batch enter, and the queue behind it fills, until it
/// opens the gate. Warm-up runs before the test arms it.
/// </summary>
public sealed class Gate
{
    readonly SemaphoreSlim _release = new(0);
    public SemaphoreSlim Entered { get; } = new(0);
    public volatile bool Armed;

    public Func<PixelBatch, float[]> Wrap(Func<PixelBatch, float[]> score) => batch =>
    {
        if (Armed)
        {
            Entered.Release();
            _release.Wait(TimeSpan.FromMinutes(1));
        }
        return score(batch);
    };

    public void Open()
    {
        Armed = false;
        _release.Release(1000);
    }
}

/// <summary>A running server on the in-process test host (or on a real loopback port), and a client for it.</summary>
public sealed class Served : IAsyncDisposable
{
    public required WebApplication App { get; init; }
    public required HttpClient Client { get; init; }
    public BatchScorer Scorer => App.Services.GetRequiredService<BatchScorer>();
    public ServerMetrics Metrics => App.Services.GetRequiredService<ServerMetrics>();

    /// <summary>Starts a server for <paramref name="model"/>; float32 TorchSharp by default, so scores match the offline path exactly.</summary>
    /// <param name="network">Wraps the network's scoring (a test's fault or hold); <paramref name="gate"/> is one.</param>
    public static async Task<Served> StartAsync(string model, Func<ServeOptions, ServeOptions>? adjust = null, Gate? gate = null,
        bool loopback = false, bool waitUntilReady = true, Func<Func<PixelBatch, float[]>, Func<PixelBatch, float[]>>? network = null)
    {
        network ??= gate is null ? null : gate.Wrap;
        var options = new ServeOptions { Model = model, Engine = Engine.Torch, MaxBatch = 4, Urls = "http://127.0.0.1:0" };
        options = adjust?.Invoke(options) ?? options;
        var app = ServerApp.Build(options, builder =>
        {
            if (!loopback) builder.WebHost.UseTestServer();
            if (network is not null)
            {
                var real = (BatchModel)builder.Services.Last(d => d.ServiceType == typeof(BatchModel)).ImplementationInstance!;
                builder.Services.AddSingleton(real with { Score = network(real.Score) });
            }
        });
        await app.StartAsync();
        var client = loopback
            ? new HttpClient
                { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) }
            : app.GetTestClient();
        var served = new Served { App = app, Client = client };
        if (waitUntilReady) await served.WaitUntilReadyAsync();
        return served;
    }

    public async Task WaitUntilReadyAsync()
    {
        for (var deadline = DateTime.UtcNow.AddMinutes(2); DateTime.UtcNow < deadline; await Task.Delay(50))
            if ((await Client.GetAsync("/healthz")).IsSuccessStatusCode) return;
        throw new TimeoutException("the server did not become ready");
    }

    /// <summary>A multipart form with each file in the field <paramref name="field"/>.</summary>
    public static MultipartFormDataContent Form(IEnumerable<(string Name, byte[] Bytes)> files, string field = "image")
    {
        var form = new MultipartFormDataContent();
        foreach (var (name, bytes) in files)
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(content, field, name);
        }
        return form;
    }

    public static MultipartFormDataContent Form(params string[] paths) => Form(paths.Select(p => (Path.GetFileName(p), File.ReadAllBytes(p))));

    /// <summary>The value of a metric line in Prometheus text that carries every one of <paramref name="labels"/>, 0 when absent.</summary>
    public async Task<double> MetricAsync(string name, params string[] labels)
    {
        string text = await Client.GetStringAsync("/metrics");
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(name + (labels.Length > 0 ? "{" : " ")) && labels.All(l.Contains));
        return line is null ? 0 : double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
