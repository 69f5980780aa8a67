using System.Collections.Frozen;
using System.Text;
using System.Text.Json;

namespace Engagement.Outreach;

/// <summary>
/// Localized outreach texts (embedded <c>Templates/messages.{language}.json</c>). Texts carry the minimum necessary:
/// no diagnosis, no answers, no names — only a link, a date or a time where the message needs one.
/// </summary>
public sealed class MessageTemplates
{
    public const string DefaultLanguage = "en";

    private readonly FrozenDictionary<string, FrozenDictionary<string, string>> byLanguage;

    public MessageTemplates()
    {
        var assembly = typeof(MessageTemplates).Assembly;
        var languages = new Dictionary<string, FrozenDictionary<string, string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.Contains(".Outreach.Templates.messages.", StringComparison.Ordinal)))
        {
            var language = name.Split('.')[^2];
            using var stream = assembly.GetManifestResourceStream(name)!;
            var texts = JsonSerializer.Deserialize<Dictionary<string, string>>(stream)!;
            languages[language] = texts.ToFrozenDictionary(StringComparer.Ordinal);
        }

        byLanguage = languages.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    public IReadOnlyCollection<string> Languages => byLanguage.Keys;

    /// <summary>The language we will write in: the patient's (or its base, <c>es-MX</c> → <c>es</c>) when we have it, else English.</summary>
    public string ResolveLanguage(string? preferred)
    {
        if (string.IsNullOrWhiteSpace(preferred))
        {
            return DefaultLanguage;
        }

        if (byLanguage.ContainsKey(preferred))
        {
            return preferred.ToLowerInvariant();
        }

        var primary = preferred.Split('-', '_')[0];
        return byLanguage.ContainsKey(primary) ? primary.ToLowerInvariant() : DefaultLanguage;
    }

    public bool Has(string templateCode) => byLanguage[DefaultLanguage].ContainsKey(templateCode);

    /// <summary>Renders a template; unknown placeholders are an error (a message must never go out half-filled).</summary>
    public string Render(string templateCode, string? language, IReadOnlyDictionary<string, string> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var lang = ResolveLanguage(language);
        if (!byLanguage[lang].TryGetValue(templateCode, out var template) && !byLanguage[DefaultLanguage].TryGetValue(templateCode, out template))
        {
            throw new KeyNotFoundException($"No message template '{templateCode}'.");
        }

        var text = new StringBuilder(template.Length + 64);
        var i = 0;
        while (i < template.Length)
        {
            var open = template.IndexOf('{', i);
            if (open < 0)
            {
                text.Append(template, i, template.Length - i);
                break;
            }

            var close = template.IndexOf('}', open);
            var name = template[(open + 1)..close];
            if (!parameters.TryGetValue(name, out var value))
            {
                throw new ArgumentException($"Template '{templateCode}' needs the parameter '{name}'.", nameof(parameters));
            }

            text.Append(template, i, open - i).Append(value);
            i = close + 1;
        }

        return text.ToString();
    }
}
