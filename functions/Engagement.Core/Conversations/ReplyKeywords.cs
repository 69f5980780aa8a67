using System.Collections.Frozen;
using System.Globalization;
using System.Text;

namespace Engagement.Conversations;

/// <summary>What a keyword reply asks for.</summary>
public enum KeywordIntent
{
    None,
    OptOut,
    OptIn,
    Help,
    Confirm,
    Cancel,
}

/// <summary>
/// The reply keywords (docs/inbound.md keeps the same table). Matching ignores case, surrounding whitespace,
/// trailing punctuation and accents (<c>SÍ</c> = <c>SI</c>). CANCEL/CANCELAR/NO are an appointment cancellation in
/// reply to an appointment reminder, and an opt-out (CANCEL, CANCELAR) everywhere else, as carriers treat them.
/// </summary>
public static class ReplyKeywords
{
    private static readonly FrozenDictionary<string, (KeywordIntent Intent, string Language)> General = new Dictionary<string, (KeywordIntent, string)>(StringComparer.Ordinal)
    {
        ["STOP"] = (KeywordIntent.OptOut, "en"),
        ["STOPALL"] = (KeywordIntent.OptOut, "en"),
        ["UNSUBSCRIBE"] = (KeywordIntent.OptOut, "en"),
        ["CANCEL"] = (KeywordIntent.OptOut, "en"),
        ["END"] = (KeywordIntent.OptOut, "en"),
        ["QUIT"] = (KeywordIntent.OptOut, "en"),
        ["BAJA"] = (KeywordIntent.OptOut, "es"),
        ["PARAR"] = (KeywordIntent.OptOut, "es"),
        ["ALTO"] = (KeywordIntent.OptOut, "es"),
        ["CANCELAR"] = (KeywordIntent.OptOut, "es"),
        ["START"] = (KeywordIntent.OptIn, "en"),
        ["UNSTOP"] = (KeywordIntent.OptIn, "en"),
        ["SUBSCRIBE"] = (KeywordIntent.OptIn, "en"),
        ["RESUME"] = (KeywordIntent.OptIn, "en"),
        ["ALTA"] = (KeywordIntent.OptIn, "es"),
        ["INICIAR"] = (KeywordIntent.OptIn, "es"),
        ["HELP"] = (KeywordIntent.Help, "en"),
        ["INFO"] = (KeywordIntent.Help, "en"),
        ["AYUDA"] = (KeywordIntent.Help, "es"),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, KeywordIntent> Appointment = new Dictionary<string, KeywordIntent>(StringComparer.Ordinal)
    {
        ["YES"] = KeywordIntent.Confirm,
        ["Y"] = KeywordIntent.Confirm,
        ["C"] = KeywordIntent.Confirm,
        ["CONFIRM"] = KeywordIntent.Confirm,
        ["SI"] = KeywordIntent.Confirm,
        ["CONFIRMAR"] = KeywordIntent.Confirm,
        ["NO"] = KeywordIntent.Cancel,
        ["N"] = KeywordIntent.Cancel,
        ["X"] = KeywordIntent.Cancel,
        ["CANCEL"] = KeywordIntent.Cancel,
        ["CANCELAR"] = KeywordIntent.Cancel,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The intent of <paramref name="text"/> and the language of the keyword (null when it is not one).</summary>
    public static (KeywordIntent Intent, string? Language) Match(string text, bool answersAppointmentReminder)
    {
        ArgumentNullException.ThrowIfNull(text);
        var word = Normalize(text);
        if (answersAppointmentReminder && Appointment.TryGetValue(word, out var appointment))
        {
            return (appointment, null);
        }

        return General.TryGetValue(word, out var general) ? (general.Intent, general.Language) : (KeywordIntent.None, null);
    }

    internal static string Normalize(string text)
    {
        var trimmed = text.Trim().TrimEnd('.', '!', '?', '¡', '¿').Trim().TrimStart('¡', '¿');
        var decomposed = trimmed.Normalize(NormalizationForm.FormD);
        var builder = new StringBuilder(decomposed.Length);
        foreach (var c in decomposed)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark)
            {
                builder.Append(char.ToUpperInvariant(c));
            }
        }

        return builder.ToString();
    }
}
