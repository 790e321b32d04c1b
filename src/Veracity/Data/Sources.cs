using System.Text.RegularExpressions;

namespace Veracity.Data;

/// <summary>
/// Where images came from: the optional <c>source</c> column of a label file (or a separate <c>img_name,source</c>
/// file), selecting rows by source, and epochs that sample sources equally. A source is what a generalisation test
/// holds out, so names are kept to what can name a folder.
/// </summary>
public sealed record SourceCount(string Source, int Real, int Fake);

public static partial class Sources
{
    public const string Column = "source", Unknown = "unknown";

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")]
    private static partial Regex NamePattern();

    /// <summary>Null when <paramref name="name"/> can name a source, else what is wrong with it.</summary>
    public static string? Problem(string name) => NamePattern().IsMatch(name) ? null
        : $"source must be 1–64 letters, digits, '_', '-', '.' or '+', starting with a letter or digit (found '{name}')";

    /// <summary>
    /// The rows with the sources that <paramref name="sourcesFile"/> (<c>img_name,source</c>) gives them; rows it does not
    /// name keep theirs.
    /// </summary>
    public static IReadOnlyList<LabelRow> Apply(IReadOnlyList<LabelRow> rows, string sourcesFile)
    {
        var sources = LabelFile.ReadSources(sourcesFile);
        return rows.Select(row => sources.TryGetValue(row.Name, out string? source) ? row with { Source = source } : row).ToList();
    }

    /// <summary>
    /// The rows whose source is in <paramref name="only"/> (all when null) and not in <paramref name="exclude"/>.
    /// A name that no row carries is an error listing the sources there are: a typo must not silently select nothing.
    /// </summary>
    public static IReadOnlyList<LabelRow> Select(IReadOnlyList<LabelRow> rows, IReadOnlyCollection<string>? only,
        IReadOnlyCollection<string>? exclude)
    {
        var known = rows.Select(r => r.Source).ToHashSet(StringComparer.Ordinal);
        var missing = (only ?? []).Concat(exclude ?? []).Where(s => !known.Contains(s)).Distinct().ToList();
        if (missing.Count > 0)
            throw new VeracityException($"no image has source {string.Join(", ", missing.Select(s => $"'{s}'"))}; " +
                                        $"the sources are {string.Join(", ", known.Order(StringComparer.Ordinal))}");
        var selected = rows.Where(r => (only is null || only.Contains(r.Source)) && (exclude is null || !exclude.Contains(r.Source))).ToList();
        if (selected.Count == 0) throw new VeracityException("the source selection leaves no images");
        return selected;
    }

    /// <summary>Image counts by source and class, sources in name order.</summary>
    public static IReadOnlyList<SourceCount> Counts(IEnumerable<LabelRow> rows) =>
        rows.GroupBy(r => r.Source).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new SourceCount(g.Key, g.Count(r => r.Target == 0), g.Count(r => r.Target == 1))).ToList();

    /// <summary>
    /// An epoch's row order in which, within each class (only the fakes with <paramref name="fakesOnly"/>; the reals
    /// then come once each, as in a plain pass), every source is drawn equally often: each class keeps its count,
    /// shared equally among its sources; a small source's rows repeat (each pass in a new order) and a big source's
    /// are subsampled. With a <paramref name="power"/> above 0 a source's share goes as its size to that power
    /// instead (0.5: as the square root; 1: as it comes). Depends only on (seed, epoch), so a resumed run draws the
    /// same rows.
    /// </summary>
    public static int[] BalancedOrder(IReadOnlyList<LabelRow> rows, int seed, int epoch, bool fakesOnly = false, double power = 0)
    {
        var order = new List<int>(rows.Count);
        foreach (var byClass in Enumerable.Range(0, rows.Count).GroupBy(i => rows[i].Target).OrderBy(g => g.Key))
        {
            if (fakesOnly && byClass.Key == 0)
            {
                order.AddRange(byClass);
                continue;
            }
            var groups = byClass.GroupBy(i => rows[i].Source).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => g.ToArray()).ToList();
            var quotas = Quotas(byClass.Count(), groups.Select(g => g.Length).ToList(), power);
            for (int s = 0; s < groups.Count; s++)
            {
                int quota = quotas[s];
                var members = groups[s];
                for (int pass = 0; quota > 0; pass++)
                {
                    var shuffled = (int[])members.Clone();
                    new Random(Seeds.Mix(seed, epoch, byClass.Key, s, pass, Seeds.Salt.BalancedSources)).Shuffle(shuffled);
                    int take = Math.Min(quota, shuffled.Length);
                    order.AddRange(shuffled.Take(take));
                    quota -= take;
                }
            }
        }
        var result = order.ToArray();
        new Random(Seeds.Mix(seed, epoch, Seeds.Salt.Shuffle)).Shuffle(result);
        return result;
    }

    /// <summary>
    /// <paramref name="total"/> draws shared among sources of these sizes in proportion to size^<paramref name="power"/>:
    /// each gets the whole part of its share, and the draws left over go one each to the largest fractional parts
    /// (ties to the first sources, so equal shares give the first sources the remainder).
    /// </summary>
    static int[] Quotas(int total, IReadOnlyList<int> sizes, double power)
    {
        double sum = sizes.Sum(n => Math.Pow(n, power));
        var shares = sizes.Select(n => total * Math.Pow(n, power) / sum).ToList();
        var quotas = shares.Select(share => (int)Math.Floor(share)).ToArray();
        foreach (int s in Enumerable.Range(0, sizes.Count).OrderByDescending(s => shares[s] - quotas[s]).Take(total - quotas.Sum()))
            quotas[s]++;
        return quotas;
    }
}
