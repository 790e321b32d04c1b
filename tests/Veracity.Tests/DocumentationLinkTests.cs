using System.Text;
using System.Text.RegularExpressions;

namespace Veracity.Tests;

/// <summary>
/// Every relative link in README.md, docs/ and bench/ reaches something: the file (or folder) it names, relative to
/// the Markdown file, and, for a #anchor into Markdown, one of that file's headings as GitHub names them.
/// </summary>
public class DocumentationLinkTests
{
    /// <summary>The repository: the first folder above the test's output that holds Veracity.slnx.</summary>
    static readonly string Root = Repository.Root;

    [Fact]
    public void Every_relative_link_in_the_documentation_resolves()
    {
        var broken = BrokenLinks(Root).ToList();
        Assert.True(broken.Count == 0, "broken links:\n" + string.Join("\n", broken));
    }

    [Fact]
    public void A_missing_file_or_heading_is_reported_and_code_and_web_links_are_not()
    {
        using var repo = new TempDir();
        repo.File("README.md", """
            # Veracity
            See [the guide](docs/guide.md#set-up), [its second Usage](docs/guide.md#usage-1), [a picture](docs/missing.png)
            and [no such part](docs/guide.md#tear-down), [here](#veracity), [the site](https://example.com/x.md).
            ```
            [in a code block](nowhere.md)
            ```
            `[in code](nowhere.md)`
            """);
        repo.File("docs/guide.md", "## Set up\n\n## Usage\n\nUsage\n-----\n");
        Assert.Equal(["README.md:2: docs/missing.png (no such file)", "README.md:3: docs/guide.md#tear-down (no heading 'tear-down' in guide.md)"],
            BrokenLinks(repo.Path));
    }

    [Theory]
    [InlineData("Where it stands", "where-it-stands")]
    [InlineData("`veracity crossval` — how does it fare on a generator it never saw?",
        "veracity-crossval--how-does-it-fare-on-a-generator-it-never-saw")]
    [InlineData("Set up a new machine (the .NET 10 SDK; Debian's `chromium` for the browser test)",
        "set-up-a-new-machine-the-net-10-sdk-debians-chromium-for-the-browser-test")]
    [InlineData("Seeds 4–5: [0.793](bench/RESULTS.md) on face_swap", "seeds-45-0793-on-face_swap")]
    public void A_heading_becomes_the_anchor_GitHub_gives_it(string heading, string anchor) =>
        Assert.Equal(anchor, Slug(heading));

    /// <summary>"file:line: target (why)" for each link that reaches nothing in README.md, docs/ and bench/ under <paramref name="root"/>.</summary>
    static IEnumerable<string> BrokenLinks(string root)
    {
        var files = new List<string> { Path.Combine(root, "README.md") };
        foreach (string folder in new[] { "docs", "bench" }.Select(f => Path.Combine(root, f)).Where(Directory.Exists))
            files.AddRange(Directory.EnumerateFiles(folder, "*.md", SearchOption.AllDirectories)
                // Build output is not documentation.
                .Where(f => !Path.GetRelativePath(root, f).Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj")));
        return files.SelectMany(file => BrokenLinks(root, file));
    }

    static IEnumerable<string> BrokenLinks(string root, string file)
    {
        var lines = Prose(File.ReadAllLines(file));
        for (int i = 0; i < lines.Count; i++)
            foreach (string target in Targets(lines[i]))
            {
                if (Regex.IsMatch(target, "^(https?|mailto):", RegexOptions.IgnoreCase)) continue;
                if (Problem(root, file, target) is { } problem)
                    yield return $"{Path.GetRelativePath(root, file)}:{i + 1}: {target} ({problem})";
            }
    }

    /// <summary>Why <paramref name="target"/>, linked from <paramref name="file"/>, reaches nothing, or null when it does.</summary>
    static string? Problem(string root, string file, string target)
    {
        int hash = target.IndexOf('#');
        string path = Uri.UnescapeDataString(hash < 0 ? target : target[..hash]);
        string? anchor = hash < 0 ? null : Uri.UnescapeDataString(target[(hash + 1)..]);
        // GitHub reads a leading slash as the repository's root.
        string full = path.Length == 0 ? file
            : Path.GetFullPath(path.StartsWith('/') ? Path.Combine(root, path.TrimStart('/')) : Path.Combine(Path.GetDirectoryName(file)!, path));
        if (!File.Exists(full) && !Directory.Exists(full)) return "no such file";
        if (anchor is null || !full.EndsWith(".md", StringComparison.OrdinalIgnoreCase)) return null;
        return Anchors(File.ReadAllLines(full)).Contains(anchor) ? null : $"no heading '{anchor}' in {Path.GetFileName(full)}";
    }

    /// <summary>The lines outside fenced code blocks, with inline code spans blanked (links there are text); numbering kept.</summary>
    static List<string> Prose(string[] lines)
    {
        var prose = new List<string>(lines.Length);
        string? fence = null;
        foreach (string line in lines)
        {
            var opening = Regex.Match(line, @"^\s{0,3}(`{3,}|~{3,})");
            if (fence is null && opening.Success) fence = opening.Groups[1].Value;
            else if (fence is not null && line.TrimStart().StartsWith(fence, StringComparison.Ordinal)) fence = null;
            else if (fence is null)
            {
                prose.Add(Regex.Replace(line, @"(`+)(?:(?!\1).)+?\1", ""));
                continue;
            }
            prose.Add("");
        }
        return prose;
    }

    /// <summary>Link targets on one line: inline links and images <c>[text](target "title")</c> and reference definitions <c>[name]: target</c> (not footnotes, <c>[^1]: text</c>).</summary>
    static IEnumerable<string> Targets(string line) =>
        Regex.Matches(line, @"\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+""[^""]*"")?\s*\)").Select(m => m.Groups[1].Value)
            .Concat(Regex.Matches(line, @"^\s{0,3}\[(?!\^)[^\]]+\]:\s*<?([^\s>]+)>?").Select(m => m.Groups[1].Value));

    /// <summary>
    /// The anchors GitHub gives a Markdown file: each heading's slug (the second of a kind gets "-1", the third "-2"),
    /// and any HTML id or name attribute.
    /// </summary>
    static HashSet<string> Anchors(string[] lines)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var prose = Prose(lines);
        var seen = new Dictionary<string, int>();
        for (int i = 0; i < prose.Count; i++)
        {
            string? heading = Regex.Match(lines[i], @"^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$") is { Success: true } atx && prose[i].Length > 0
                ? atx.Groups[1].Value
                // A setext heading: its text, underlined by === or --- on the next line.
                : i + 1 < prose.Count && prose[i].Trim().Length > 0 && Regex.IsMatch(prose[i + 1], @"^\s{0,3}(=+|-+)\s*$") ? lines[i].Trim()
                : null;
            if (heading is not null)
            {
                string slug = Slug(heading);
                int count = seen.GetValueOrDefault(slug);
                seen[slug] = count + 1;
                anchors.Add(count == 0 ? slug : $"{slug}-{count}");
            }
            foreach (Match attribute in Regex.Matches(prose[i], @"\b(?:id|name)=""([^""]+)"""))
                anchors.Add(attribute.Groups[1].Value);
        }
        return anchors;
    }

    /// <summary>
    /// GitHub's anchor for a heading: its text as shown (links become their text, backticks go), lowercase, without
    /// punctuation but for hyphens and underscores, each space a hyphen.
    /// </summary>
    static string Slug(string heading)
    {
        string text = Regex.Replace(heading, @"!?\[([^\]]*)\]\([^)]*\)", "$1").Replace("`", "").ToLowerInvariant();
        var slug = new StringBuilder(text.Length);
        foreach (char c in text)
            if (char.IsLetterOrDigit(c) || c is '-' or '_') slug.Append(c);
            else if (c == ' ') slug.Append('-');
        return slug.ToString();
    }
}
