using System.Security.Cryptography;
using System.Text.Json;

namespace Veracity.Inference;

/// <summary>
/// The detector that ships with Veracity (models/builtin.ckpt, compact weights: <see cref="Checkpoints.CompactWeights"/>), used when no --model is given.
/// models/builtin.json names the file, its sha256 (checked at every load: a damaged or swapped file is refused), what
/// it was trained on and where it is not reliable, which <c>score</c> and the page say beside the verdict;
/// docs/model-card.md tells the rest. bench/builtin/train.sh trains it again from the corpus manifest.
/// </summary>
public sealed record BuiltInModel(string File, string Sha256, string TrainedOn, string NotReliableOn, string Recipe)
{
    public const string ManifestFile = "builtin.json";

    /// <summary>Where the build puts the model and its manifest: beside the assembly.</summary>
    public static string Folder => System.IO.Path.Combine(AppContext.BaseDirectory, "models");

    /// <summary>The folder the manifest was read from: the model file sits beside it.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string Location { get; init; } = Folder;

    public string Path => System.IO.Path.Combine(Location, File);

    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>The manifest; a build without one says how to go on.</summary>
    public static BuiltInModel Read(string? folder = null)
    {
        folder ??= Folder;
        string manifest = System.IO.Path.Combine(folder, ManifestFile);
        if (!System.IO.File.Exists(manifest))
            throw new VeracityException($"no built-in model in this build ({manifest} is missing): pass --model CKPT");
        try
        {
            return (JsonSerializer.Deserialize<BuiltInModel>(System.IO.File.ReadAllText(manifest), Json)
                ?? throw new VeracityException($"{manifest} is empty")) with { Location = folder };
        }
        catch (JsonException e)
        {
            throw new VeracityException($"{manifest}: {e.Message}", e);
        }
    }

    /// <summary>The model file's path once its sha256 matches the manifest's.</summary>
    public string Verified()
    {
        if (!System.IO.File.Exists(Path)) throw new VeracityException($"the built-in model {Path} is missing: pass --model CKPT");
        string actual;
        using (var stream = System.IO.File.OpenRead(Path))
            actual = Convert.ToHexStringLower(SHA256.HashData(stream));
        if (!actual.Equals(Sha256, StringComparison.OrdinalIgnoreCase))
            throw new VeracityException($"the built-in model {Path} has sha256 {actual}, but {ManifestFile} says {Sha256}: " +
                                        "the file is damaged or was replaced; restore it from the repository or pass --model");
        return Path;
    }

    /// <summary>What a person reads beside a verdict.</summary>
    public string Caveat => $"trained on {TrainedOn}; not reliable on {NotReliableOn}";
}
