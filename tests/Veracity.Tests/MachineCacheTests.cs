using Veracity.Inference;

namespace Veracity.Tests;

public class MachineCacheTests
{
    sealed record Verdict(string Name, double Figure);

    [Fact]
    public void A_section_written_by_one_process_is_read_by_the_next_on_the_same_machine_only()
    {
        using var dir = new TempDir();
        new MachineCache(dir.Path, "this machine").Write("verdicts", new[] { new Verdict("a", 1.5) });
        new MachineCache(dir.Path, "this machine").Write("other", new Verdict("b", 2));

        var later = new MachineCache(dir.Path, "this machine");
        Assert.Equal([new Verdict("a", 1.5)], later.Read<Verdict[]>("verdicts")!);
        Assert.Equal(new Verdict("b", 2), later.Read<Verdict>("other"));
        Assert.Null(new MachineCache(dir.Path, "another machine").Read<Verdict[]>("verdicts"));
    }

    [Fact]
    public void A_damaged_file_is_measured_over_not_trusted()
    {
        using var dir = new TempDir();
        var cache = new MachineCache(dir.Path, "this machine");
        File.WriteAllText(cache.FilePath!, "{ \"key\": \"this machine\", \"verdicts\": [ { \"Name\": ");
        Assert.Null(cache.Read<Verdict[]>("verdicts"));
        cache.Write("verdicts", new[] { new Verdict("a", 1) });
        Assert.Equal([new Verdict("a", 1)], new MachineCache(dir.Path, "this machine").Read<Verdict[]>("verdicts")!);
    }

    [Fact]
    public void With_caching_off_verdicts_last_the_process_and_nothing_is_written()
    {
        var cache = new MachineCache(folder: null, "this machine");
        cache.Write("verdicts", new Verdict("a", 1));
        cache.Write("other", new Verdict("b", 2));
        Assert.Null(cache.FilePath);
        Assert.Equal((new Verdict("a", 1), new Verdict("b", 2)), (cache.Read<Verdict>("verdicts"), cache.Read<Verdict>("other")));
    }

    [Fact]
    public void Auto_takes_the_fastest_correct_engine_and_a_torchsharp_one_for_windows()
    {
        var timings = new NetworkTimings("resnet18, rgb input, 256 px, batch 8", DateTimeOffset.UnixEpoch,
            [new(Engine.Torch, 10, 0, 1e-3), new(Engine.TorchBf16, 30, 0.2, 0.05), new(Engine.Onnx, 20, 1e-7, 1e-3)]);
        Assert.Equal(Engine.Onnx, EngineChoice.Fastest(timings, windows: false)); // bfloat16 is fastest but wrong here
        Assert.Equal(Engine.Torch, EngineChoice.Fastest(timings, windows: true));
        Assert.Equal(Engine.TorchBf16, EngineChoice.Fastest(timings with { Engines = [.. timings.Engines[..1], timings.Engines[1] with { LargestDifference = 0.01 }] },
            windows: true));
    }
}
