namespace Veracity;

/// <summary>What /proc/cpuinfo says about the first processor: who made it, which family and model, and its ISA flags.</summary>
public sealed record CpuInfo(string Vendor, string Family, string Model, string ModelName, IReadOnlySet<string> Flags)
{
    /// <summary>The flags that decide which oneDNN kernels and which Veracity engine run.</summary>
    public static readonly string[] RelevantFlags =
        ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16",
         "avx_vnni", "amx_tile", "amx_bf16", "amx_int8"];

    public static CpuInfo Current { get; } = Read("/proc/cpuinfo");

    /// <summary>Native bfloat16 dot products (AVX512-BF16 or AMX): bfloat16 training pays off.</summary>
    public bool HasBFloat16 => Flags.Overlaps(["avx512_bf16", "amx_bf16"]);

    /// <summary>AMX tiles for bfloat16: the only class where bfloat16 inference was measured faster than ONNX Runtime everywhere.</summary>
    public bool HasAmx => Flags.Contains("amx_bf16");

    public static CpuInfo Read(string path)
    {
        var fields = new Dictionary<string, string>();
        if (File.Exists(path))
            foreach (string line in File.ReadLines(path))
            {
                if (line.Length == 0) break; // the first processor's block only
                var parts = line.Split(':', 2);
                if (parts.Length == 2) fields.TryAdd(parts[0].Trim(), parts[1].Trim());
            }
        string Field(string name) => fields.GetValueOrDefault(name, "unknown");
        var flags = fields.TryGetValue("flags", out var list) ? list.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet() : [];
        return new CpuInfo(Field("vendor_id"), Field("cpu family"), Field("model"), Field("model name"), flags);
    }

    public override string ToString() => $"{ModelName} ({Vendor}, family {Family}, model {Model})";
}
