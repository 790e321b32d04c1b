using System.Reflection;
using System.Text.RegularExpressions;
using Spectre.Console.Cli;

namespace Veracity.Cli;

/// <summary>
/// Says which option was meant when strict parsing refuses one the command does not declare. (Spectre's default, relaxed
/// parsing kept such options as remaining arguments, which no command reads: a typo was dropped and the run went on
/// with the default. Checking those in an interceptor comes too late: the settings' own checks run first, so
/// "--modle M" was reported as "--model is required".) Spectre says only "Unknown option 'name'.", without the command
/// or a suggestion, while parsing, before any of our code sees the command, so its refusal is reworded where errors
/// are reported, in Program's exception handler.
/// </summary>
static class UnknownOption
{
    /// <summary>Spectre's refusal; the name is without its dashes.</summary>
    static readonly Regex Refusal = new(@"^Unknown option '(?<name>[^']+)'\.$");

    /// <summary>
    /// The refusal reworded with the command's name and its closest option, or null when <paramref name="parse"/> is
    /// another parse error or the first argument is not one of our commands.
    /// </summary>
    public static UnknownOptionException? Explain(CommandParseException parse, IReadOnlyList<string> args)
    {
        if (Refusal.Match(parse.Message) is not { Success: true } match
            || VeracityCommands.All.FirstOrDefault(c => c.Name == args.FirstOrDefault()) is not { } command)
            return null;
        string name = match.Groups["name"].Value;
        // Spectre reads a single letter as a short option (-x) and refuses a single letter as a long one.
        string option = (name.Length == 1 ? "-" : "--") + name;
        return new UnknownOptionException(command.Name, option, Closest(option, DeclaredOptions(command.Settings)));
    }

    /// <summary>The options a settings type declares (its base classes' too), long and short, with their dashes.</summary>
    public static IReadOnlyList<string> DeclaredOptions(Type settings) => settings.GetProperties()
        .Select(property => property.GetCustomAttribute<CommandOptionAttribute>())
        .OfType<CommandOptionAttribute>()
        .SelectMany(option => option.LongNames.Select(name => "--" + name).Concat(option.ShortNames.Select(name => "-" + name)))
        .ToList();

    /// <summary>
    /// The option nearest to <paramref name="typed"/>, when it is at most a third of the typed name's letters away
    /// (rounded; at least one edit): "--lable" → "--labels" is 2 of 5 letters. Further than that it is another word, not
    /// a slip: "--by" is 2 edits from "--lr", all of it. Failing that, the only option that begins with the typed name,
    /// as "--batch-size" begins with "--batch" (5 edits). Case is ignored: "--Model" → "--model".
    /// </summary>
    public static string? Closest(string typed, IReadOnlyList<string> options)
    {
        string word = Bare(typed);
        var nearest = options.Select(option => (Option: option, Edits: EditDistance(word, Bare(option))))
            .DefaultIfEmpty()
            .MinBy(candidate => candidate.Edits);
        if (nearest.Option is not null && nearest.Edits <= Math.Max(1, (word.Length + 1) / 3)) return nearest.Option;
        var begun = options.Where(option => Bare(option).StartsWith(word, StringComparison.Ordinal)).ToList();
        return begun.Count == 1 ? begun[0] : null;
    }

    static string Bare(string option) => option.TrimStart('-').ToLowerInvariant();

    /// <summary>The insertions, deletions, substitutions and swaps of neighbouring letters that turn one word into the other.</summary>
    static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}

/// <summary>An option the command does not have; <paramref name="closest"/> is the one it has that looks like a typo of it, if any.</summary>
sealed class UnknownOptionException(string command, string option, string? closest) : VeracityException(
    closest is null
        ? $"unknown option '{option}' for {command}; veracity {command} --help lists its options"
        : $"unknown option '{option}' for {command}; did you mean '{closest}'?");
