using System.Globalization;
using System.Text.Json;

namespace Engagement.Intake;

/// <summary>One Azure Health Data Services FHIR event (Event Grid schema or CloudEvents 1.0): no resource, only its ids.</summary>
public sealed record GridEvent(string Id, ClinicalEventKind Kind, string ResourceType, string ResourceId, string? VersionId, byte[] Raw);

/// <summary>What a POST to <c>/api/events/{source}</c> carried.</summary>
public sealed record GridDelivery(IReadOnlyList<GridEvent> Events, string? ValidationCode);

/// <summary>
/// Event Grid schema (a JSON array of events; <c>Microsoft.EventGrid.SubscriptionValidationEvent</c> carries the handshake
/// code) and CloudEvents 1.0 (one object or a batch array with <c>specversion</c>). Data: resourceType,
/// resourceFhirAccount, resourceFhirId, resourceVersionId.
/// </summary>
public static class EventGridParser
{
    public const string ValidationEventType = "Microsoft.EventGrid.SubscriptionValidationEvent";

    private static readonly Dictionary<string, ClinicalEventKind> Types = new(StringComparer.Ordinal)
    {
        ["Microsoft.HealthcareApis.FhirResourceCreated"] = ClinicalEventKind.Created,
        ["Microsoft.HealthcareApis.FhirResourceUpdated"] = ClinicalEventKind.Updated,
        ["Microsoft.HealthcareApis.FhirResourceDeleted"] = ClinicalEventKind.Deleted,
    };

    public static GridDelivery? Parse(ReadOnlySpan<byte> body, int maxDepth, out IntakeProblem? problem)
    {
        problem = NotificationParser.CheckJson(body, maxDepth);
        if (problem is not null)
        {
            return null;
        }

        if (body.IsEmpty)
        {
            problem = IntakeProblem.Malformed("The body is empty; expected Event Grid events or a CloudEvent.");
            return null;
        }

        using var document = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = maxDepth + 1 });
        var root = document.RootElement;
        var items = root.ValueKind switch
        {
            JsonValueKind.Array => root.EnumerateArray().ToList(),
            JsonValueKind.Object => [root],
            _ => null,
        };
        if (items is null || items.Count == 0)
        {
            problem = IntakeProblem.Malformed("Expected a JSON array of Event Grid events or a CloudEvent object.");
            return null;
        }

        var events = new List<GridEvent>();
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            if (item.ValueKind != JsonValueKind.Object)
            {
                problem = IntakeProblem.Malformed($"Event {i + 1} is not a JSON object.");
                return null;
            }

            var cloudEvent = item.TryGetProperty("specversion", out var specVersion);
            if (cloudEvent && specVersion.ValueKind == JsonValueKind.String && specVersion.GetString() != "1.0")
            {
                problem = IntakeProblem.Invalid($"Event {i + 1}: only CloudEvents specversion 1.0 is supported.");
                return null;
            }

            if (!cloudEvent && root.ValueKind == JsonValueKind.Object)
            {
                problem = IntakeProblem.Invalid("A single JSON object must be a CloudEvent (specversion 1.0); Event Grid schema events come in an array.");
                return null;
            }

            var type = String(item, cloudEvent ? "type" : "eventType");
            var id = String(item, "id");
            if (string.IsNullOrEmpty(id) || string.IsNullOrEmpty(type))
            {
                problem = IntakeProblem.Invalid($"Event {i + 1} needs an 'id' and '{(cloudEvent ? "type" : "eventType")}'.");
                return null;
            }

            item.TryGetProperty("data", out var data);
            if (type == ValidationEventType)
            {
                var code = data.ValueKind == JsonValueKind.Object ? String(data, "validationCode") : null;
                if (string.IsNullOrEmpty(code))
                {
                    problem = IntakeProblem.Invalid("The subscription validation event has no data.validationCode.");
                    return null;
                }

                return new GridDelivery([], code);
            }

            if (!Types.TryGetValue(type, out var kind))
            {
                problem = IntakeProblem.Invalid($"Event {i + 1}: unsupported event type '{InboundGate.Truncate(type)}' (expected Microsoft.HealthcareApis.FhirResourceCreated/Updated/Deleted).");
                return null;
            }

            var resourceType = data.ValueKind == JsonValueKind.Object ? String(data, "resourceType") : null;
            var resourceId = data.ValueKind == JsonValueKind.Object ? String(data, "resourceFhirId") : null;
            if (resourceType is null || resourceId is null || !Hl7.Fhir.Model.ModelInfo.IsKnownResource(resourceType) || !FhirIds.IsValid(resourceId))
            {
                problem = IntakeProblem.Invalid($"Event {i + 1}: data needs a known resourceType and a valid resourceFhirId.");
                return null;
            }

            var version = data.TryGetProperty("resourceVersionId", out var v)
                ? v.ValueKind switch
                {
                    JsonValueKind.Number => v.GetRawText(),
                    JsonValueKind.String => v.GetString(),
                    _ => null,
                }
                : null;
            if (version is not null && !FhirIds.IsValid(version))
            {
                // A version id is an id (FHIR id syntax); anything else would only fail later, in storage.
                problem = IntakeProblem.Invalid($"Event {i + 1}: data.resourceVersionId must be a FHIR id (1-64 of A-Z a-z 0-9 - .).");
                return null;
            }

            events.Add(new GridEvent(id, kind, resourceType, resourceId, version, System.Text.Encoding.UTF8.GetBytes(item.GetRawText())));
        }

        return new GridDelivery(events, null);
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}

/// <summary>FHIR id syntax: 1–64 of A–Z a–z 0–9 - .</summary>
public static class FhirIds
{
    public static bool IsValid(string? id) =>
        id is { Length: > 0 and <= 64 } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.');

    public static string Version(long number) => number.ToString(CultureInfo.InvariantCulture);
}
