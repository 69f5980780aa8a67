using System.Globalization;
using Hl7.Fhir.Model;

namespace Engagement.FollowUp;

/// <summary>Reads FHIR date/dateTime/instant values as instants; a date alone is local midnight in the given zone.</summary>
internal static class FhirInstants
{
    public static bool TryRead(Base? value, TimeZoneInfo zone, out DateTimeOffset instant)
    {
        var text = value switch
        {
            Instant { Value: { } v } => v.ToString("o", CultureInfo.InvariantCulture),
            FhirDateTime dt => dt.Value,
            Date d => d.Value,
            _ => null,
        };
        return TryParse(text, zone, out instant);
    }

    public static bool TryParse(string? text, TimeZoneInfo zone, out DateTimeOffset instant)
    {
        instant = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        if (text.Length == 10 && DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            instant = LocalTime.ToInstant(date.ToDateTime(TimeOnly.MinValue), zone);
            return true;
        }

        // FHIR requires a zone when a time is given; a value without one is read as UTC rather than the server's zone.
        return text.Contains('T', StringComparison.Ordinal)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out instant);
    }
}
