namespace Veracity.Data;

/// <summary>A label, list or prediction file that cannot be used; the message names the file and line.</summary>
public sealed class LabelFileException(string path, int? line, string problem)
    : VeracityException(line is null ? $"{path}: {problem}" : $"{path}, line {line}: {problem}")
{
    public string Path { get; } = path;
    public int? Line { get; } = line;
}
