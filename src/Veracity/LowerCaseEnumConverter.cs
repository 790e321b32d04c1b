using System.Text.Json;
using System.Text.Json.Serialization;

namespace Veracity;

/// <summary>
/// Writes an option enum as its lower-case name ("adamw", "cosine", "bfloat16"), the strings config.json and
/// checkpoints held before the options were enums; reading is case-insensitive, so old files still load.
/// </summary>
public sealed class LowerCaseEnumConverter<T>() : JsonStringEnumConverter<T>(LowerCaseNames.Policy, allowIntegerValues: false)
    where T : struct, Enum;

file sealed class LowerCaseNames : JsonNamingPolicy
{
    public static readonly LowerCaseNames Policy = new();
    public override string ConvertName(string name) => name.ToLowerInvariant();
}
