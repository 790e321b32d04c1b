using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Veracity;

/// <summary>
/// Verdicts measured on this machine that hold until something that decides them changes: which route each
/// convolution shape takes (<see cref="Models.ConvolutionCheck"/>, 4.5–12 s of float64 checks a process before it
/// was kept) and which inference engine is fastest for a network (<see cref="Inference.EngineChoice"/>). One JSON file
/// per key: the CPU (vendor, family, model, name, every flag), the oneDNN ISA cap, libtorch's, TorchSharp's and ONNX
/// Runtime's versions and libtorch's thread count, so another CPU, cap, library or thread count measures afresh.
/// The folder is $VERACITY_CACHE, else $XDG_CACHE_HOME/veracity, else ~/.cache/veracity; VERACITY_CACHE=off keeps
/// nothing. A damaged file is measured over, never trusted.
/// </summary>
public sealed class MachineCache
{
    readonly Lock _lock = new();
    JsonObject? _sections;

    public MachineCache(string? folder, string key)
    {
        Key = key;
        FilePath = folder is null ? null : Path.Combine(folder, $"machine-{Hash(key)}.json");
    }

    /// <summary>The process's cache, for this machine as it is now.</summary>
    public static MachineCache Current => LazyCurrent.Value;
    static readonly Lazy<MachineCache> LazyCurrent = new(() => new MachineCache(DefaultFolder(), MachineKey()));

    /// <summary>What the verdicts depend on, as text (the file name is its hash).</summary>
    public string Key { get; }

    /// <summary>Where the verdicts live; null when caching is off.</summary>
    public string? FilePath { get; }

    /// <summary>A section's value as written last (by this process or an earlier one), or null.</summary>
    public T? Read<T>(string section) where T : class
    {
        lock (_lock)
        {
            var node = Sections()[section];
            if (node is null) return null;
            try
            {
                return node.Deserialize<T>(Json);
            }
            catch (JsonException)
            {
                return null; // written by another version of the section: measured again and overwritten
            }
        }
    }

    /// <summary>Sets a section and writes the file whole (other processes' sections written meanwhile are kept).</summary>
    public void Write<T>(string section, T value)
    {
        lock (_lock)
        {
            // Another process may have added sections since this one read the file; with caching off there is no file.
            if (FilePath is not null) _sections = Load();
            Sections()[section] = JsonSerializer.SerializeToNode(value, Json);
            _sections!["key"] = Key;
            if (FilePath is null) return;
            try
            {
                AtomicFile.WriteAllBytes(FilePath, Encoding.UTF8.GetBytes(_sections.ToJsonString(Json)));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A read-only home costs a measurement next time, not the command.
            }
        }
    }

    JsonObject Sections() => _sections ??= Load();

    JsonObject Load()
    {
        if (FilePath is null || !File.Exists(FilePath)) return [];
        try
        {
            return JsonNode.Parse(File.ReadAllBytes(FilePath)) is JsonObject o && (string?)o["key"] == Key ? o : [];
        }
        catch (Exception e) when (e is JsonException or IOException or InvalidOperationException)
        {
            return [];
        }
    }

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16];

    static string? DefaultFolder()
    {
        string? configured = Environment.GetEnvironmentVariable("VERACITY_CACHE");
        if (configured == "off") return null;
        if (!string.IsNullOrEmpty(configured)) return configured;
        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return !string.IsNullOrEmpty(xdg) ? Path.Combine(xdg, "veracity")
            : !string.IsNullOrEmpty(home) ? Path.Combine(home, ".cache", "veracity")
            : null;
    }

    /// <summary>What a verdict means (a tolerance, the routes tried, how engines are timed): raise it when that changes.</summary>
    const int Meaning = 1;

    static string MachineKey()
    {
        var cpu = CpuInfo.Current;
        string cap = Environment.GetEnvironmentVariable("ONEDNN_MAX_CPU_ISA") ?? Environment.GetEnvironmentVariable("DNNL_MAX_CPU_ISA") ?? "none";
        return $"{cpu}; flags {string.Join(' ', cpu.Flags.Order(StringComparer.Ordinal))}; oneDNN cap {cap}; " +
               $"libtorch {Library.Libtorch}; TorchSharp {Library.TorchSharp}; ONNX Runtime {Library.OnnxRuntime}; " +
               $"threads {TorchSharp.torch.get_num_threads()}; verdicts v{Meaning}";
    }

    /// <summary>The versions of the native libraries whose kernels the verdicts are about.</summary>
    public static class Library
    {
        public static string Libtorch => typeof(MachineCache).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "libtorch")?.Value ?? "unknown";
        public static string TorchSharp => Informational(typeof(TorchSharp.torch).Assembly);
        public static string OnnxRuntime => Informational(typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly);

        public static string Informational(Assembly assembly) =>
            assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
            ?? assembly.GetName().Version?.ToString() ?? "unknown";
    }
}
