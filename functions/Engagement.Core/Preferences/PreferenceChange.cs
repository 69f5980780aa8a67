using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Engagement.FollowUp;
using Engagement.FollowUp.Engine;
using Hl7.Fhir.Model;

namespace Engagement.Preferences;

/// <summary>
/// What a patient asked to change on the engagement page (<c>PUT /api/engage/{token}/preferences</c>): any of the
/// preferred channel, the outreach language and the contact window (local times in the patient's zone). Parsed
/// strictly (unknown properties are refused), checked against the patient (<see cref="Check"/>) and applied to the
/// Patient resource as our extensions and <c>Patient.communication</c> (<see cref="ApplyTo"/>).
/// </summary>
public sealed record PreferenceChange(string? Channel, string? Language, ContactWindow? Window)
{
    /// <summary>The system of <c>Patient.communication.language</c> codes we write.</summary>
    public const string LanguageSystem = "urn:ietf:bcp:47";

    private static readonly string[] TimeFormats = ["HH:mm", "HH:mm:ss"];

    /// <summary>
    /// Parses the JSON body. <c>Malformed</c> (400): not JSON, or not a JSON object. <c>Invalid</c> (422): well-formed
    /// but not a change we accept (unknown property or channel, a language we have no templates for, a bad window).
    /// </summary>
    public static (PreferenceChange? Change, string? Malformed, string? Invalid) Parse(ReadOnlySpan<byte> body, IReadOnlyCollection<string> languages)
    {
        ArgumentNullException.ThrowIfNull(languages);
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 8 });
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException)
        {
            return (null, "The body is not valid JSON.", null);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, "The body must be a JSON object: {\"channel\", \"language\", \"contactWindow\": {\"start\", \"end\"}}.", null);
            }

            string? channel = null, language = null;
            ContactWindow? window = null;
            foreach (var property in root.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "channel":
                        if (property.Value.ValueKind != JsonValueKind.String)
                        {
                            return Invalid("channel must be a string.");
                        }

                        channel = property.Value.GetString()!;
                        if (!PatientPreferences.Channels.Contains(channel))
                        {
                            return Invalid($"Unknown channel '{Truncate(channel)}'; one of {string.Join(", ", PatientPreferences.Channels)}.");
                        }

                        break;
                    case "language":
                        if (property.Value.ValueKind != JsonValueKind.String)
                        {
                            return Invalid("language must be a string.");
                        }

                        var asked = property.Value.GetString()!;
                        language = languages.FirstOrDefault(l => string.Equals(l, asked, StringComparison.OrdinalIgnoreCase))?.ToLowerInvariant();
                        if (language is null)
                        {
                            return Invalid($"Unknown language '{Truncate(asked)}'; one of {string.Join(", ", languages.Order(StringComparer.Ordinal))}.");
                        }

                        break;
                    case "contactWindow":
                        if (ParseWindow(property.Value, out var parsed) is { } problem)
                        {
                            return Invalid(problem);
                        }

                        window = parsed;
                        break;
                    default:
                        return Invalid($"Unknown property '{Truncate(property.Name)}'; only channel, language and contactWindow can be changed.");
                }
            }

            if (channel is null && language is null && window is null)
            {
                return Invalid("Nothing to change: give channel, language or contactWindow.");
            }

            return (new PreferenceChange(channel, language, window), null, null);
        }
    }

    /// <summary>The channels the patient can be reached on: those the engine has an address for (telecom, or the app).</summary>
    public static IReadOnlyList<string> AvailableChannels(Patient patient)
    {
        ArgumentNullException.ThrowIfNull(patient);
        return [.. PatientPreferences.Channels.Where(c => !string.IsNullOrWhiteSpace(SendOutreachActivity.AddressFor(patient, c)))];
    }

    /// <summary>Why this change cannot apply to <paramref name="patient"/> (422), or null.</summary>
    public string? Check(Patient patient)
    {
        ArgumentNullException.ThrowIfNull(patient);
        return Channel is { } channel && !AvailableChannels(patient).Contains(channel)
            ? $"We have no {channel} contact for you; choose one of {string.Join(", ", AvailableChannels(patient))}."
            : null;
    }

    /// <summary>Writes the change into <paramref name="patient"/> (our extensions and the preferred communication).</summary>
    public void ApplyTo(Patient patient)
    {
        ArgumentNullException.ThrowIfNull(patient);
        if (Channel is { } channel)
        {
            patient.SetExtension(ProtocolUrls.PreferredChannel, new Code(channel));
        }

        if (Window is { } window)
        {
            patient.RemoveExtension(ProtocolUrls.ContactWindow);
            var extension = new Extension { Url = ProtocolUrls.ContactWindow };
            extension.Extension.Add(new Extension("start", new Time(window.Start.ToString("HH:mm:ss", CultureInfo.InvariantCulture))));
            extension.Extension.Add(new Extension("end", new Time(window.End.ToString("HH:mm:ss", CultureInfo.InvariantCulture))));
            patient.Extension.Add(extension);
        }

        if (Language is { } language)
        {
            var chosen = patient.Communication.FirstOrDefault(c => c.Language?.Coding.Any(coding => SameLanguage(coding.Code, language)) == true);
            if (chosen is null)
            {
                chosen = new Patient.CommunicationComponent { Language = new CodeableConcept(LanguageSystem, language) };
                patient.Communication.Add(chosen);
            }

            // One preferred language: the engine and the page read the first preferred communication.
            foreach (var communication in patient.Communication)
            {
                communication.Preferred = ReferenceEquals(communication, chosen) ? true : (communication.Preferred is null ? null : false);
            }
        }
    }

    /// <summary>
    /// Writes the change into the JSON of someone else's Patient (the EHR's), touching nothing but our two extensions
    /// and <c>communication</c> — the same rules as <see cref="ApplyTo(Patient)"/>, on the JSON as the EHR sent it, so
    /// every element we do not model or do not change goes back exactly as it came.
    /// </summary>
    public void ApplyTo(JsonObject patient)
    {
        ArgumentNullException.ThrowIfNull(patient);
        if (Channel is { } channel)
        {
            SetExtension(patient, new JsonObject { ["url"] = ProtocolUrls.PreferredChannel, ["valueCode"] = channel });
        }

        if (Window is { } window)
        {
            SetExtension(patient, new JsonObject
            {
                ["url"] = ProtocolUrls.ContactWindow,
                ["extension"] = new JsonArray(
                    new JsonObject { ["url"] = "start", ["valueTime"] = window.Start.ToString("HH:mm:ss", CultureInfo.InvariantCulture) },
                    new JsonObject { ["url"] = "end", ["valueTime"] = window.End.ToString("HH:mm:ss", CultureInfo.InvariantCulture) }),
            });
        }

        if (Language is { } language)
        {
            if (patient["communication"] is not JsonArray communications)
            {
                patient["communication"] = communications = [];
            }

            var chosen = communications.OfType<JsonObject>().FirstOrDefault(c =>
                c["language"]?["coding"] is JsonArray codings
                && codings.OfType<JsonObject>().Any(coding => SameLanguage(Text(coding["code"]), language)));
            if (chosen is null)
            {
                chosen = new JsonObject
                {
                    ["language"] = new JsonObject { ["coding"] = new JsonArray(new JsonObject { ["system"] = LanguageSystem, ["code"] = language }) },
                };
                communications.Add(chosen);
            }

            foreach (var communication in communications.OfType<JsonObject>())
            {
                if (ReferenceEquals(communication, chosen))
                {
                    communication["preferred"] = true;
                }
                else if (communication.ContainsKey("preferred"))
                {
                    communication["preferred"] = false;
                }
            }
        }
    }

    private static void SetExtension(JsonObject resource, JsonObject extension)
    {
        if (resource["extension"] is not JsonArray extensions)
        {
            resource["extension"] = extensions = [];
        }

        var url = Text(extension["url"]);
        for (var i = 0; i < extensions.Count; i++)
        {
            if (extensions[i] is JsonObject existing && Text(existing["url"]) == url)
            {
                extensions[i] = extension;
                return;
            }
        }

        extensions.Add(extension);
    }

    private static string? Text(JsonNode? node) => node is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static bool SameLanguage(string? code, string language) =>
        code is not null && (string.Equals(code, language, StringComparison.OrdinalIgnoreCase)
            || code.StartsWith(language + "-", StringComparison.OrdinalIgnoreCase));

    private static string? ParseWindow(JsonElement value, out ContactWindow window)
    {
        window = default;
        if (value.ValueKind != JsonValueKind.Object)
        {
            return "contactWindow must be an object {\"start\": \"HH:mm\", \"end\": \"HH:mm\"}.";
        }

        TimeOnly? start = null, end = null;
        foreach (var property in value.EnumerateObject())
        {
            if (property.Name is not ("start" or "end"))
            {
                return $"Unknown property 'contactWindow.{Truncate(property.Name)}'; only start and end.";
            }

            if (property.Value.ValueKind != JsonValueKind.String
                || !TimeOnly.TryParseExact(property.Value.GetString(), TimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
            {
                return $"contactWindow.{property.Name} must be a local time HH:mm (00:00 to 23:59).";
            }

            if (property.Name == "start")
            {
                start = time;
            }
            else
            {
                end = time;
            }
        }

        if (start is null || end is null)
        {
            return "contactWindow needs both start and end.";
        }

        return ContactWindow.TryCreate(start, end, out window)
            ? null
            : "contactWindow must end after it starts on the same day (windows across midnight are not supported).";
    }

    private static (PreferenceChange?, string?, string?) Invalid(string problem) => (null, null, problem);

    private static string Truncate(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
