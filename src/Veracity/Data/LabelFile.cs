using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration;

namespace Veracity.Data;

/// <summary>
/// Reads the competition's CSV files: <c>img_name,target</c> labels, <c>img_name</c> lists and
/// <c>img_name,y_pred</c> predictions. Every problem is reported early, naming the file and line.
/// </summary>
public static class LabelFile
{
    public const string NameColumn = "img_name";
    public const string TargetColumn = "target";
    public const string PredictionColumn = "y_pred";

    /// <summary>Reads <c>img_name,target</c> with an optional third column <c>source</c> (empty = unknown).</summary>
    public static IReadOnlyList<LabelRow> ReadLabels(string path) =>
        Read(path, [NameColumn, TargetColumn], (csv, name, line) =>
        {
            string raw = csv.GetField(TargetColumn) ?? "";
            if (raw != "0" && raw != "1")
                throw new LabelFileException(path, line, $"target must be 0 (real) or 1 (deepfake), found '{raw}'");
            return new LabelRow(name, raw == "1" ? 1 : 0, line, SourceOf(csv, path, line));
        });

    /// <summary>Reads an <c>img_name,source</c> file as a map from name to source.</summary>
    public static IReadOnlyDictionary<string, string> ReadSources(string path) =>
        Read(path, [NameColumn, Sources.Column], (csv, name, line) => (name, source: SourceOf(csv, path, line)))
            .ToDictionary(row => row.name, row => row.source, StringComparer.Ordinal);

    static string SourceOf(CsvReader csv, string path, int line)
    {
        if (csv.HeaderRecord?.Contains(Sources.Column) != true) return Sources.Unknown;
        string source = csv.GetField(Sources.Column) ?? "";
        if (source.Length == 0) return Sources.Unknown;
        return Sources.Problem(source) is { } problem ? throw new LabelFileException(path, line, problem) : source;
    }

    public static IReadOnlyList<string> ReadNames(string path) =>
        Read(path, [NameColumn], (_, name, _) => name);

    public static IReadOnlyList<PredictionRow> ReadPredictions(string path) =>
        Read(path, [NameColumn, PredictionColumn], (csv, name, line) =>
        {
            string raw = csv.GetField(PredictionColumn) ?? "";
            if (!double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out double score)
                || !double.IsFinite(score) || score < 0 || score > 1)
                throw new LabelFileException(path, line, $"y_pred must be a probability in [0, 1], found '{raw}'");
            return new PredictionRow(name, score, line);
        });

    /// <summary>Reads <c>img_name,&lt;column&gt;</c> as a map from name to the column's text.</summary>
    public static IReadOnlyDictionary<string, string> ReadColumn(string path, string column) =>
        ReadColumnRows(path, column).ToDictionary(row => row.Name, row => row.Value, StringComparer.Ordinal);

    /// <summary>Reads <c>img_name,&lt;column&gt;</c> as the rows' names and the column's text, in file order.</summary>
    public static IReadOnlyList<(string Name, string Value)> ReadColumnRows(string path, string column) =>
        Read(path, [NameColumn, column], (csv, name, _) => (name, csv.GetField(column) ?? ""));

    static List<T> Read<T>(string path, string[] columns, Func<CsvReader, string, int, T> readRow)
    {
        if (!File.Exists(path))
            throw new LabelFileException(path, null, "file not found");
        var config = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            TrimOptions = TrimOptions.Trim,
            IgnoreBlankLines = true,
            DetectColumnCountChanges = false,
            BadDataFound = null,
        };
        using var reader = new StreamReader(path, detectEncodingFromByteOrderMarks: true);
        using var csv = new CsvReader(reader, config);
        if (!csv.Read())
            throw new LabelFileException(path, null, "file is empty");
        csv.ReadHeader();
        string[] header = csv.HeaderRecord ?? [];
        foreach (string column in columns)
            if (!header.Contains(column))
                throw new LabelFileException(path, 1,
                    $"header must be '{string.Join(',', columns)}', found '{string.Join(',', header)}'");

        var rows = new List<T>();
        var firstLine = new Dictionary<string, int>(StringComparer.Ordinal);
        while (csv.Read())
        {
            int line = csv.Parser.RawRow;
            string name = csv.GetField(NameColumn) ?? "";
            ImagePaths.Check(name, problem => new LabelFileException(path, line, problem));
            if (!firstLine.TryAdd(name, line))
                throw new LabelFileException(path, line, $"duplicate img_name '{name}' (first on line {firstLine[name]})");
            rows.Add(readRow(csv, name, line));
        }
        if (rows.Count == 0)
            throw new LabelFileException(path, null, "file has a header but no rows");
        return rows;
    }
}

/// <summary>Writes the competition's CSV files atomically with a CSV library (quoting names that need it).</summary>
public static class CsvFiles
{
    public static void Write(string path, IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows) =>
        AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false), leaveOpen: true) { NewLine = "\n" };
            using var csv = new CsvWriter(writer, new CsvConfiguration(CultureInfo.InvariantCulture) { NewLine = "\n" });
            foreach (string column in header) csv.WriteField(column);
            csv.NextRecord();
            foreach (var row in rows)
            {
                foreach (string field in row) csv.WriteField(field);
                csv.NextRecord();
            }
        });

    public static void WriteLabels(string path, IEnumerable<(string Name, int Target)> rows) =>
        Write(path, [LabelFile.NameColumn, LabelFile.TargetColumn],
            rows.Select(row => (IReadOnlyList<string>)[row.Name, row.Target.ToString(CultureInfo.InvariantCulture)]));

    /// <summary>Writes <c>img_name,target,source</c>.</summary>
    public static void WriteLabels(string path, IEnumerable<LabelRow> rows) =>
        Write(path, [LabelFile.NameColumn, LabelFile.TargetColumn, Sources.Column],
            rows.Select(row => (IReadOnlyList<string>)[row.Name, row.Target.ToString(CultureInfo.InvariantCulture), row.Source]));
}
