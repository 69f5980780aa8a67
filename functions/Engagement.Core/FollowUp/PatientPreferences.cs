using System.Collections.Immutable;
using Hl7.Fhir.Model;

namespace Engagement.FollowUp;

/// <summary>
/// Configured defaults for patients who state no preference (configuration section <c>Engagement:FollowUp</c>).
/// </summary>
public sealed class PreferenceDefaults
{
    public const string SectionName = "Engagement:FollowUp";

    /// <summary>IANA time zone id.</summary>
    public string TimeZone { get; set; } = "UTC";

    public TimeOnly ContactWindowStart { get; set; } = ContactWindow.Default.Start;

    public TimeOnly ContactWindowEnd { get; set; } = ContactWindow.Default.End;

    /// <summary>BCP-47 language code.</summary>
    public string Language { get; set; } = "en";

    /// <summary>How long a send waits, each time, for a Patient the engine does not have yet (real time, not scaled).</summary>
    public TimeSpan PatientWaitInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How many times a send waits for that Patient before going on without contact details.</summary>
    public int PatientWaitAttempts { get; set; } = 10;
}

/// <summary>How, when and in which language a patient wants to be contacted, read from the Patient resource.</summary>
public sealed record PatientPreferences(
    TimeZoneInfo TimeZone,
    ContactWindow ContactWindow,
    string Language,
    string? PreferredChannel,
    ImmutableArray<string> FallbackChannels)
{
    public static readonly ImmutableArray<string> Channels = ["sms", "email", "push", "portal"];

    /// <summary>
    /// Reads the patient's preferences (docs/fhir-conventions.md): tz-code and contact-window extensions win over
    /// <paramref name="defaults"/>; language from the preferred <c>Patient.communication</c>; channel from the
    /// preferred-channel extension, else the best-ranked telecom (sms for phone/mobile/sms numbers, email for email).
    /// The fallback channels are the patient's other telecom channels in rank order.
    /// </summary>
    public static PatientPreferences From(Patient patient, PreferenceDefaults defaults)
    {
        ArgumentNullException.ThrowIfNull(patient);
        ArgumentNullException.ThrowIfNull(defaults);

        var zone = FindZone(patient.GetExtensionValue<Code>(ProtocolUrls.TimeZoneCode)?.Value)
            ?? FindZone(defaults.TimeZone)
            ?? TimeZoneInfo.Utc;

        var window = ReadContactWindow(patient.GetExtension(ProtocolUrls.ContactWindow), out var stated)
            ? stated
            : new ContactWindow(defaults.ContactWindowStart, defaults.ContactWindowEnd);

        var language = patient.Communication
            .Where(c => c.Preferred == true)
            .SelectMany(c => c.Language?.Coding ?? [])
            .Select(c => c.Code)
            .FirstOrDefault(c => !string.IsNullOrWhiteSpace(c)) ?? defaults.Language;

        var telecomChannels = TelecomChannels(patient);
        var preferred = patient.GetExtensionValue<Code>(ProtocolUrls.PreferredChannel)?.Value is { } code && Channels.Contains(code)
            ? code
            : telecomChannels.FirstOrDefault();
        var fallbacks = telecomChannels.Where(c => c != preferred).ToImmutableArray();

        return new PatientPreferences(zone, window, language, preferred, fallbacks);
    }

    /// <summary>Channels the patient's current telecom allows, best rank first, without duplicates.</summary>
    private static List<string> TelecomChannels(Patient patient) =>
        [.. patient.Telecom
            .Select((contact, index) => (contact, index))
            .Where(t => t.contact.Use != ContactPoint.ContactPointUse.Old && !string.IsNullOrWhiteSpace(t.contact.Value) && t.contact.Period?.End is null)
            .Select(t => (channel: ChannelOf(t.contact), rank: t.contact.Rank ?? int.MaxValue, t.index))
            .Where(t => t.channel is not null)
            .OrderBy(t => t.rank)
            .ThenBy(t => t.index)
            .Select(t => t.channel!)
            .Distinct()];

    private static string? ChannelOf(ContactPoint contact) => contact.System switch
    {
        ContactPoint.ContactPointSystem.Sms => "sms",
        ContactPoint.ContactPointSystem.Phone when contact.Use is null or ContactPoint.ContactPointUse.Mobile => "sms",
        ContactPoint.ContactPointSystem.Email => "email",
        _ => null,
    };

    /// <summary>
    /// The EHR's new version of a Patient, keeping the choices the patient made on the engagement page that only we
    /// hold: our preferred-channel and contact-window extensions (the EHR never sends them, so without this its next
    /// version would silently undo them). Everything else is the EHR's.
    /// </summary>
    public static Patient KeepPatientChoices(Patient incoming, Patient? stored)
    {
        ArgumentNullException.ThrowIfNull(incoming);
        if (stored is null)
        {
            return incoming;
        }

        foreach (var url in new[] { ProtocolUrls.PreferredChannel, ProtocolUrls.ContactWindow })
        {
            if (incoming.GetExtension(url) is null && stored.GetExtension(url) is { } ours)
            {
                incoming.Extension.Add((Extension)ours.DeepCopy());
            }
        }

        return incoming;
    }

    private static bool ReadContactWindow(Extension? extension, out ContactWindow window)
    {
        window = default;
        if (extension is null)
        {
            return false;
        }

        return ContactWindow.TryCreate(
            ToTimeOnly(extension.GetExtensionValue<Time>("start")),
            ToTimeOnly(extension.GetExtensionValue<Time>("end")),
            out window);
    }

    private static TimeOnly? ToTimeOnly(Time? time) =>
        time?.Value is { } value && TimeOnly.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out var parsed) ? parsed : null;

    private static TimeZoneInfo? FindZone(string? id)
    {
        if (string.IsNullOrWhiteSpace(id))
        {
            return null;
        }

        return TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) ? zone : null;
    }
}
