using System.Text.RegularExpressions;

namespace Engagement.Infra.Tests.Contract;

/// <summary>One configuration key of the contract, e.g. <c>Engagement__Sources__{name}__InboundSecret</c>.</summary>
/// <remarks>
/// Placeholders: <c>{name}</c> is a source or channel name (letters, digits, dashes), <c>{n}</c> an index,
/// and a trailing <c>*</c> any further <c>__</c>-separated path (e.g. <c>Auth__*</c>).
/// </remarks>
internal sealed partial class ContractKey
{
    public ContractKey(string template, bool optional)
    {
        Template = template;
        Optional = optional;
        var pattern = PlaceholderPattern().Replace(Regex.Escape(template), match => match.Value switch
        {
            @"\{name}" => "[A-Za-z0-9-]+",
            @"\{n}" => "[0-9]+",
            _ => "[A-Za-z0-9]+(?:__[A-Za-z0-9]+)*",
        });
        Pattern = new Regex("^" + pattern + "$", RegexOptions.CultureInvariant);
    }

    public string Template { get; }

    /// <summary>The contract says "optional:" for it.</summary>
    public bool Optional { get; }

    public Regex Pattern { get; }

    public bool Matches(string settingName) => Pattern.IsMatch(settingName);

    public override string ToString() => Template;

    // Regex.Escape turns "{" into "\{" and "*" into "\*".
    [GeneratedRegex(@"\\\{name}|\\\{n}|\\\*")]
    private static partial Regex PlaceholderPattern();
}

/// <summary>The configuration table of the shared contract (CONTRACT.md, section "Configuration").</summary>
internal static partial class ContractConfiguration
{
    private static readonly Lazy<IReadOnlyList<ContractKey>> Cached = new(() => Parse(File.ReadAllText(InfraPaths.ContractFile)));

    public static IReadOnlyList<ContractKey> Keys => Cached.Value;

    /// <summary>
    /// Reads the keys from the first column of the table under the "## Configuration" heading. A cell may
    /// hold several keys in backticks; one that starts with <c>__</c> replaces the last segment of the key
    /// before it (<c>`...__Issuer`, `__Audience`</c>).
    /// </summary>
    public static IReadOnlyList<ContractKey> Parse(string markdown)
    {
        var keys = new List<ContractKey>();
        var inSection = false;
        foreach (var line in markdown.Split('\n').Select(l => l.TrimEnd('\r')))
        {
            if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                inSection = line.StartsWith("## Configuration", StringComparison.Ordinal);
                continue;
            }

            if (!inSection || !line.StartsWith('|'))
            {
                continue;
            }

            var cells = line.Split('|');
            if (cells.Length < 3)
            {
                continue;
            }

            var keyCell = cells[1];
            var meaning = cells[2].Trim();
            string? previous = null;
            foreach (Match code in CodeSpan().Matches(keyCell))
            {
                var key = code.Groups[1].Value;
                if (key.StartsWith("__", StringComparison.Ordinal) && previous is not null)
                {
                    key = previous[..previous.LastIndexOf("__", StringComparison.Ordinal)] + key;
                }

                keys.Add(new ContractKey(key, meaning.StartsWith("optional", StringComparison.OrdinalIgnoreCase)));
                previous = key;
            }
        }

        return keys;
    }

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex CodeSpan();
}
