namespace Veracity.Data;

/// <summary>Keeps image names inside their data root: no absolute paths, no <c>..</c>, nothing that escapes.</summary>
public static class ImagePaths
{
    /// <summary>Throws what <paramref name="error"/> makes when <paramref name="name"/> is not a safe relative name.</summary>
    public static void Check(string name, Func<string, Exception> error)
    {
        if (name.Length == 0)
            throw error("img_name is empty");
        if (name.Contains('\0'))
            throw error("img_name contains a NUL character");
        if (Path.IsPathRooted(name) || name.StartsWith('\\') || (name.Length > 1 && name[1] == ':'))
            throw error($"img_name '{name}' is an absolute path; names must be relative to the image folder");
        if (name.Split('/', '\\').Any(segment => segment == ".."))
            throw error($"img_name '{name}' contains '..'; names must stay inside the image folder");
    }

    /// <summary>Fails with a clear message when the image folder does not exist.</summary>
    public static void RequireFolder(string folder)
    {
        if (!Directory.Exists(folder)) throw new VeracityException($"image folder not found: {folder}");
    }

    /// <summary>The full path of <paramref name="name"/> under <paramref name="root"/>, refusing anything outside it.</summary>
    public static string Resolve(string root, string name)
    {
        Check(name, problem => new VeracityException(problem));
        string fullRoot = Path.GetFullPath(root);
        string full = Path.GetFullPath(Path.Combine(fullRoot, name));
        string prefix = Path.EndsInDirectorySeparator(fullRoot) ? fullRoot : fullRoot + Path.DirectorySeparatorChar;
        if (!full.StartsWith(prefix, StringComparison.Ordinal))
            throw new VeracityException($"img_name '{name}' resolves outside the image folder {fullRoot}");
        return full;
    }
}
