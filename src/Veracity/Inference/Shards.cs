using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Veracity.Data;

namespace Veracity.Inference;

/// <summary>
/// Shard <see cref="Index"/> of <see cref="Count"/>, counted from 0 (0/4 to 3/4). A picture belongs to the shard its
/// name hashes to: the first 8 bytes of the SHA-256 of the UTF-8 name, read big-endian, modulo the count. Every
/// machine and run agrees on it without talking to the others (string.GetHashCode is seeded anew in each process).
/// </summary>
public sealed record Shard(int Index, int Count)
{
    /// <summary>"I/N" with 0 ≤ I &lt; N; null when the text is not that.</summary>
    public static Shard? Parse(string text)
    {
        string[] parts = text.Split('/');
        return parts.Length == 2
               && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int index)
               && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count)
               && index < count
            ? new Shard(index, count)
            : null;
    }

    public static int Of(string name, int count) =>
        (int)(BinaryPrimitives.ReadUInt64BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes(name))) % (ulong)count);

    public bool Holds(string name) => Of(name, Count) == Index;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Index}/{Count}");
}

/// <summary>A model as it scored: its file, the engine it ran on, its test-time views, and whether it scored faces.</summary>
public sealed record ModelRun(string Path, Engine Engine, int Views, bool OnFaces);

/// <summary>A part or its manifest that merge cannot use; the message names the file.</summary>
public sealed class ShardException(string path, string problem) : VeracityException($"{path}: {problem}")
{
    public string Path { get; } = path;
}

/// <summary>A model in a manifest: its file's name and, as its identity, the SHA-256 of its bytes.</summary>
public sealed record ShardModel(string File, string Sha256, string Engine, int Views, bool Faces);

/// <summary>The whole input a shard was cut from: how many names, and the SHA-256 of them in order, one per line.</summary>
public sealed record ShardInput(int Names, string Sha256)
{
    public static ShardInput Of(IReadOnlyList<string> names) =>
        new(names.Count, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', names)))));
}

/// <summary>
/// What <c>predict --shard</c> writes beside its part (<see cref="PathFor"/>): the scoring settings merge compares
/// across parts, the shard, how many of its names there were and how many rows and failures came of them, and each
/// row's position in the whole input, from which merge restores the order one run would have written.
/// </summary>
public sealed record ShardManifest(Shard Shard, IReadOnlyList<ShardModel> Models, int Window, OnError OnError, ShardInput Input,
    int Names, int Rows, int Failures, IReadOnlyList<int> Positions)
{
    static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public static string PathFor(string part) => part + ".shard.json";

    public void WriteBeside(string part) => AtomicFile.WriteAllBytes(PathFor(part), JsonSerializer.SerializeToUtf8Bytes(this, Json));

    public static ShardManifest ReadBeside(string part)
    {
        string path = PathFor(part);
        if (!File.Exists(part)) throw new ShardException(part, "part not found");
        if (!File.Exists(path)) throw new ShardException(part, $"no manifest {Path.GetFileName(path)} beside it: was it written by predict --shard?");
        try
        {
            return JsonSerializer.Deserialize<ShardManifest>(File.ReadAllBytes(path), Json)
                   ?? throw new ShardException(path, "the manifest is empty");
        }
        catch (JsonException e)
        {
            throw new ShardException(path, $"not a shard manifest ({e.Message})");
        }
    }

    /// <summary>What must be the same in every part of one submission, by name, in the order they are compared.</summary>
    public IEnumerable<(string What, string Value)> Settings()
    {
        yield return ("shard count", Shard.Count.ToString(CultureInfo.InvariantCulture));
        yield return ("input", $"{Input.Names} names, SHA-256 {Input.Sha256}");
        yield return ("models", Models.Count.ToString(CultureInfo.InvariantCulture));
        foreach (var (model, k) in Models.Select((model, k) => (model, k + 1)))
        {
            yield return ($"model {k}", $"{model.File} (SHA-256 {model.Sha256})");
            yield return ($"model {k}'s engine", model.Engine);
            yield return ($"model {k}'s TTA views", model.Views.ToString(CultureInfo.InvariantCulture));
            yield return ($"model {k} on faces", model.Faces ? "yes" : "no");
        }
        yield return ("window", Window.ToString(CultureInfo.InvariantCulture));
        yield return ("on-error", OnError.ToString().ToLowerInvariant());
    }
}

/// <summary>Sharded batch scoring: the names of one shard, its manifest, and the merge of every shard's part into one submission.</summary>
public static class ShardedPrediction
{
    /// <summary>The positions in <paramref name="names"/> (the whole input, in order) of the names that <paramref name="shard"/> holds.</summary>
    public static IReadOnlyList<int> Select(IReadOnlyList<string> names, Shard shard) =>
        Enumerable.Range(0, names.Count).Where(k => shard.Holds(names[k])).ToList();

    /// <summary>
    /// The manifest of a part: <paramref name="positions"/> are those of the shard's names in <paramref name="input"/>,
    /// <paramref name="result"/> their scores, written as <see cref="Prediction.WrittenRows"/> says.
    /// </summary>
    public static ShardManifest Manifest(Shard shard, IReadOnlyList<ModelRun> models, int window, OnError onError,
        IReadOnlyList<string> input, IReadOnlyList<int> positions, PredictionResult result)
    {
        var rows = Prediction.WrittenRows(result, onError).Select(k => positions[k]).ToList();
        return new ShardManifest(shard, models.Select(Describe).ToList(), window, onError, ShardInput.Of(input), positions.Count, rows.Count,
            result.Failures, rows);
    }

    static ShardModel Describe(ModelRun model)
    {
        using var file = File.OpenRead(model.Path);
        return new ShardModel(Path.GetFileName(model.Path), Convert.ToHexStringLower(SHA256.HashData(file)),
            model.Engine.ToString().ToLowerInvariant(), model.Views, model.OnFaces);
    }

    /// <summary>What a merge wrote: rows, parts, shards, and the failures the parts reported.</summary>
    public sealed record Merged(int Rows, int Shards, int Names, int Failures);

    /// <summary>
    /// Writes the parts of one sharded run as one submission, atomically, in the order one run would have written it.
    /// Refuses, naming the part: a part without its manifest, one scored with other settings than the first, a shard
    /// given twice or missing, a name in two parts or in a shard it does not hash to, and a part whose rows are not
    /// its manifest's.
    /// </summary>
    public static Merged Merge(IReadOnlyList<string> parts, string outFile)
    {
        if (parts.Count == 0) throw new VeracityException("merge needs the parts written by predict --shard");
        var manifests = parts.Select(ShardManifest.ReadBeside).ToList();
        var first = manifests[0].Settings().ToList();
        // The model count comes before the models, so parts with different counts differ by then.
        foreach (var (manifest, part) in manifests.Zip(parts).Skip(1))
        {
            var (mine, theirs) = manifest.Settings().Zip(first).FirstOrDefault(pair => pair.First != pair.Second);
            if (mine.What is not null)
                throw new ShardException(part, $"scored with {mine.What} {mine.Value}, where {parts[0]} has {theirs.Value}: " +
                                               "the parts of one submission come from one model and settings");
        }

        int count = manifests[0].Shard.Count;
        var byShard = new Dictionary<int, string>();
        foreach (var (manifest, part) in manifests.Zip(parts))
            if (!byShard.TryAdd(manifest.Shard.Index, part))
                throw new ShardException(part, $"shard {manifest.Shard} is given twice: {byShard[manifest.Shard.Index]} is shard {manifest.Shard} too");
        if (Enumerable.Range(0, count).FirstOrDefault(index => !byShard.ContainsKey(index), -1) is var missing and >= 0)
            throw new VeracityException($"shard {new Shard(missing, count)} is missing: the parts given are shards " +
                                        string.Join(", ", byShard.OrderBy(p => p.Key).Select(p => $"{p.Key} ({p.Value})")));
        int names = manifests.Sum(m => m.Names);
        if (names != manifests[0].Input.Names)
            throw new ShardException(parts[0], $"the shards hold {names} names in all, but the input had {manifests[0].Input.Names}");

        var rows = new SortedDictionary<int, IReadOnlyList<string>>();
        var partOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (manifest, part) in manifests.Zip(parts))
        {
            var partRows = manifest.Rows == 0 ? [] : LabelFile.ReadColumnRows(part, LabelFile.PredictionColumn);
            if (partRows.Count != manifest.Rows || manifest.Positions.Count != manifest.Rows)
                throw new ShardException(part, $"{partRows.Count} rows, but its manifest says {manifest.Rows}: the part was changed after predict wrote it");
            foreach (var ((name, score), position) in partRows.Zip(manifest.Positions))
            {
                if (!partOf.TryAdd(name, part)) throw new ShardException(part, $"{name} is in {partOf[name]} too");
                if (!manifest.Shard.Holds(name)) throw new ShardException(part, $"{name} does not hash to shard {manifest.Shard}");
                if (!rows.TryAdd(position, [name, score]))
                    throw new ShardException(part, $"{name} is at input position {position}, as another part's row is");
            }
        }
        CsvFiles.Write(outFile, [LabelFile.NameColumn, LabelFile.PredictionColumn], rows.Values);
        return new Merged(rows.Count, count, names, manifests.Sum(m => m.Failures));
    }
}
