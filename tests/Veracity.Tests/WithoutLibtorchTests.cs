using System.Net;
using System.Net.Sockets;
using Veracity.Data;

namespace Veracity.Tests;

/// <summary>
/// The container image leaves libtorch out (deploy/image/build.sh): an exported model must predict and serve from a
/// build without it, with the numbers the TorchSharp engine gives.
/// </summary>
public class WithoutLibtorchTests(TinyModel tiny) : IClassFixture<TinyModel>
{
    static readonly string[] LibtorchFiles =
        ["libtorch", "libc10", "libLibTorchSharp", "libgomp", "libshm", "libaoti", "libbackend_with_compiler", "libjitbackend_test", "libnnapi_backend"];
    static readonly string[] WrittenByTests = [TestProcess.MachineCache, Path.GetDirectoryName(BrowserTests.ScreenshotPath)!];

    [Fact]
    public async Task An_onnx_model_predicts_and_serves_from_a_build_without_libtorch()
    {
        using var dir = new TempDir();
        string onnx = Path.Combine(dir.Path, "model.onnx");
        var export = Cli.Run("export", "--model", tiny.Checkpoint, "--out", onnx);
        Assert.True(export.ExitCode == 0, export.All);
        string build = CopyWithoutLibtorch(AppContext.BaseDirectory, Path.Combine(dir.Path, "build"));
        // Missing its libraries, TorchSharp copies them from the NuGet cache: an empty home and package folder, as in the image.
        var environment = new Dictionary<string, string>
            { ["HOME"] = Directory.CreateDirectory(Path.Combine(dir.Path, "home")).FullName, ["NUGET_PACKAGES"] = Path.Combine(dir.Path, "no-packages") };

        string withoutTorch = Path.Combine(dir.Path, "onnx.csv"), viaTorch = Path.Combine(dir.Path, "torch.csv");
        var predicted = Cli.RunIn(build, environment, "predict", "--model", onnx, "--images", tiny.ValImages, "--tta", "4", "--out", withoutTorch);
        Assert.True(predicted.ExitCode == 0, predicted.All);
        var reference = Cli.Run("predict", "--model", tiny.Checkpoint, "--engine", "torch", "--images", tiny.ValImages, "--tta", "4", "--out", viaTorch);
        Assert.True(reference.ExitCode == 0, reference.All);
        var (got, expected) = (LabelFile.ReadPredictions(withoutTorch), LabelFile.ReadPredictions(viaTorch));
        Assert.Equal(expected.Select(r => r.Name), got.Select(r => r.Name));
        Assert.All(expected.Zip(got), pair => Assert.True(Math.Abs(pair.First.Score - pair.Second.Score) < 1e-4, $"{pair}"));

        // The control: the same build cannot run the checkpoint on TorchSharp, so libtorch really is absent.
        var refused = Cli.RunIn(build, environment, "predict", "--model", tiny.Checkpoint, "--engine", "torch", "--images", tiny.ValImages,
            "--out", Path.Combine(dir.Path, "refused.csv"));
        Assert.NotEqual(0, refused.ExitCode);

        int port = FreePort();
        using var server = Cli.Start(build, environment, "serve", "--model", onnx, "--urls", $"http://127.0.0.1:{port}");
        var output = server.StandardOutput.ReadToEndAsync();
        var errors = server.StandardError.ReadToEndAsync();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
            await WaitUntilReady(client, server);
            string picture = Directory.EnumerateFiles(tiny.ValImages).Order(StringComparer.Ordinal).First();
            var scored = await client.PostAsync("/api/v1/score", Served.Form(picture));
            Assert.True(scored.IsSuccessStatusCode, await scored.Content.ReadAsStringAsync());
            Assert.Contains("fake_probability", await scored.Content.ReadAsStringAsync());
            var explained = await client.PostAsync("/api/v1/explain", Served.Form(picture));
            Assert.True(explained.IsSuccessStatusCode, await explained.Content.ReadAsStringAsync());
            Assert.Equal("image/png", explained.Content.Headers.ContentType?.MediaType);
        }
        finally
        {
            if (!server.HasExited) Signal(server.Id, "TERM");
            if (!server.WaitForExit(TimeSpan.FromSeconds(30))) server.Kill(entireProcessTree: true);
        }
        Assert.True(server.ExitCode == 0, await output + await errors);
    }

    /// <summary>
    /// The build's files without libtorch's, and without what other tests write beside them meanwhile (the machine
    /// cache, screenshots): a verdict file being written failed a CI run, and the image holds neither.
    /// </summary>
    static string CopyWithoutLibtorch(string from, string to)
    {
        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            if (LibtorchFiles.Any(Path.GetFileName(file).StartsWith)) continue;
            if (WrittenByTests.Any(folder => file.StartsWith(folder + Path.DirectorySeparatorChar, StringComparison.Ordinal))) continue;
            string target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return to;
    }

    static async Task WaitUntilReady(HttpClient client, System.Diagnostics.Process server)
    {
        for (var deadline = DateTime.UtcNow.AddMinutes(2); DateTime.UtcNow < deadline; await Task.Delay(200))
        {
            Assert.False(server.HasExited, "serve exited before it was ready");
            try
            {
                if ((await client.GetAsync("/healthz")).StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { }
        }
        Assert.Fail("serve was not ready within 2 minutes");
    }

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    static void Signal(int pid, string signal) => System.Diagnostics.Process.Start("kill", ["-" + signal, pid.ToString()])!.WaitForExit();
}
