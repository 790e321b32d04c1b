using System.Text.Json.Serialization;

namespace Veracity.Models;

/// <summary>
/// Which number type a backbone's convolutional trunk trains in. Auto picks bfloat16 for backbones that support
/// it (<see cref="BackboneSpec.SupportsBFloat16"/>) on CPUs with native bfloat16 dot products (AVX512-BF16 or
/// AMX): there it trained 1.9× faster (Zen 4) and 2.0× (Zen 5) in half the activation memory, with weights still
/// kept and updated in float32. A run records the type auto resolved to.
/// </summary>
[JsonConverter(typeof(LowerCaseEnumConverter<Precision>))]
public enum Precision { Auto, Float32, BFloat16 }
