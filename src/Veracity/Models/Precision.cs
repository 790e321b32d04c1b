namespace Veracity.Models;

/// <summary>
/// Which number type resnet18's convolutional trunk trains in. "auto" picks bfloat16 where the CPU has native
/// bfloat16 dot products (AVX512-BF16 or AMX): there it trains about 1.9× faster in half the activation memory,
/// with weights still kept and updated in float32.
/// </summary>
public static class Precision
{
    public const string Auto = "auto", Float32 = "float32", BFloat16 = "bfloat16";

    public static bool IsKnown(string precision) => precision is Auto or Float32 or BFloat16;

    public static bool CpuHasBFloat16 => CpuInfo.Current.HasBFloat16;

    /// <summary>The concrete type for <paramref name="model"/>: auto becomes bfloat16 only for resnet18 on a CPU with bfloat16 support.</summary>
    public static string Resolve(string precision, string model) => precision switch
    {
        Auto => model == Backbones.Default && CpuHasBFloat16 ? BFloat16 : Float32,
        _ => precision,
    };
}
