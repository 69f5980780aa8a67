using System.Globalization;
using System.Text.Json;
using Engagement.Http;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Utility;

namespace Engagement.Intake;

/// <summary>
/// Parse and validate: JSON syntax and nesting first (a cheap reader pass), then Firely's deserializer, then the
/// Backport IG's shape. Every refusal names its problem; nothing here logs or echoes resource content.
/// </summary>
public static class NotificationParser
{
    public const string StatusProfile = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4";

    private static readonly JsonSerializerOptions FirelyOptions =
        new JsonSerializerOptions().ForFhir(ModelInfo.ModelInspector).UsingMode(DeserializationMode.BackwardsCompatible);

    private static readonly Dictionary<string, NotificationType> Types = new(StringComparer.Ordinal)
    {
        ["handshake"] = NotificationType.Handshake,
        ["heartbeat"] = NotificationType.Heartbeat,
        ["event-notification"] = NotificationType.EventNotification,
        ["query-status"] = NotificationType.QueryStatus,
        ["query-event"] = NotificationType.QueryEvent,
    };

    /// <summary>Checks JSON syntax and nesting depth without building anything.</summary>
    public static IntakeProblem? CheckJson(ReadOnlySpan<byte> body, int maxDepth)
    {
        if (!JsonBody.IsUtf8(body))
        {
            return IntakeProblem.Malformed("The body is not valid UTF-8.");
        }

        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = maxDepth + 1 });
        try
        {
            while (reader.Read())
            {
                if (reader.CurrentDepth >= maxDepth)
                {
                    return IntakeProblem.Malformed($"JSON nesting is deeper than {maxDepth} levels.");
                }
            }

            return null;
        }
        catch (JsonException ex)
        {
            return reader.CurrentDepth >= maxDepth
                ? IntakeProblem.Malformed($"JSON nesting is deeper than {maxDepth} levels.")
                : IntakeProblem.Malformed($"The body is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}).");
        }
    }

    /// <summary>Any FHIR resource (after <see cref="CheckJson"/>), with Firely. Null and a problem when it is not one.</summary>
    public static Resource? ParseResource(ReadOnlySpan<byte> body, int maxDepth, out IntakeProblem? problem)
    {
        problem = CheckJson(body, maxDepth);
        if (problem is not null)
        {
            return null;
        }

        if (body.Length == 0 || JsonBody.FirstToken(body) != JsonTokenType.StartObject)
        {
            problem = IntakeProblem.Malformed("The body is not a JSON object, so not a FHIR resource.");
            return null;
        }

        try
        {
            var resource = JsonSerializer.Deserialize<Resource>(body, FirelyOptions);
            if (resource is null)
            {
                problem = IntakeProblem.Malformed("The body is not a FHIR resource.");
            }

            return resource;
        }
        catch (DeserializationFailedException ex)
        {
            // The issue codes and element paths only: Firely's messages can quote values.
            var paths = string.Join(", ", ex.Exceptions.Take(3).Select(e => e is CodedException c ? $"{c.ErrorCode} at {PathOf(e)}" : e.GetType().Name));
            problem = ex.Exceptions.Any(e => e is CodedException { ErrorCode: "JSON116" or "JSON117" or "JSON104" or "JSON115" })
                ? IntakeProblem.Malformed($"The body is not a FHIR resource ({paths}).")
                : IntakeProblem.Invalid($"The resource does not follow FHIR R4 ({paths}).");
            return null;
        }
        catch (JsonException)
        {
            problem = IntakeProblem.Malformed("The body is not a FHIR resource.");
            return null;
        }
    }

    /// <summary>A topic-based notification Bundle, validated.</summary>
    public static SubscriptionNotification? Parse(ReadOnlySpan<byte> body, int maxDepth, out IntakeProblem? problem)
    {
        var resource = ParseResource(body, maxDepth, out problem);
        return resource is null ? null : FromResource(resource, out problem);
    }

    public static SubscriptionNotification? FromResource(Resource resource, out IntakeProblem? problem)
    {
        ArgumentNullException.ThrowIfNull(resource);
        problem = null;
        if (resource is not Bundle bundle)
        {
            problem = IntakeProblem.Invalid($"Expected a notification Bundle (type history), got a {resource.TypeName}.");
            return null;
        }

        // The code as sent: backwards-compatible parsing keeps a code outside the value set, and reading it through the
        // enum (Bundle.Type) would throw.
        var type = bundle.TypeElement?.JsonValue as string;
        if (type != "history")
        {
            problem = IntakeProblem.Invalid($"Expected a notification Bundle of type history, got type '{Truncate(type ?? "none")}'.");
            return null;
        }

        if (bundle.Entry.FirstOrDefault()?.Resource is not Parameters status)
        {
            problem = IntakeProblem.Invalid("The notification Bundle's first entry must be the subscription-status Parameters (backport-subscription-status-r4).");
            return null;
        }

        return FromStatus(status, bundle, out problem);
    }

    /// <summary>The subscription-status parameters that may appear at most once.</summary>
    private static readonly string[] SingleParameters = ["subscription", "topic", "status", "type", "events-since-subscription-start"];

    private static SubscriptionNotification? FromStatus(Parameters status, Bundle bundle, out IntakeProblem? problem)
    {
        problem = null;
        if (SingleParameters.FirstOrDefault(name => status.Parameter.Count(p => p.Name == name) > 1) is { } repeated)
        {
            problem = IntakeProblem.Invalid($"'{repeated}' appears more than once in the subscription-status Parameters.");
            return null;
        }

        var subscription = (status.GetSingle("subscription")?.Value as ResourceReference)?.Reference;
        if (string.IsNullOrWhiteSpace(subscription))
        {
            problem = IntakeProblem.Invalid("The subscription-status Parameters has no 'subscription' reference.");
            return null;
        }

        var typeCode = (status.GetSingle("type")?.Value as PrimitiveType)?.ToString();
        if (typeCode is null || !Types.TryGetValue(typeCode, out var type))
        {
            problem = IntakeProblem.Invalid(typeCode is null
                ? "The subscription-status Parameters has no notification 'type'."
                : $"Unknown notification type '{Truncate(typeCode)}' (expected handshake, heartbeat, event-notification, query-status or query-event).");
            return null;
        }

        long? eventsSince = null;
        if (status.GetSingle("events-since-subscription-start") is { } sinceParameter)
        {
            if (!TryEventNumber(sinceParameter.Value, out var since))
            {
                problem = IntakeProblem.Invalid("'events-since-subscription-start' must be a non-negative integer.");
                return null;
            }

            eventsSince = since;
        }

        var events = new List<NotificationEvent>();
        foreach (var part in status.Parameter.Where(p => p.Name == "notification-event"))
        {
            var numberPart = part.Part.FirstOrDefault(p => p.Name == "event-number");
            if (numberPart is null || !TryEventNumber(numberPart.Value, out var number))
            {
                problem = IntakeProblem.Invalid($"Every notification-event needs an 'event-number' that is a non-negative integer (event {events.Count + 1} has {(numberPart is null ? "none" : "another value")}).");
                return null;
            }

            var timestamp = part.Part.FirstOrDefault(p => p.Name == "timestamp")?.Value switch
            {
                Instant instant => instant.Value,
                FhirDateTime dateTime when dateTime.TryToDateTimeOffset(out var value) => value,
                _ => (DateTimeOffset?)null,
            };
            var focus = (part.Part.FirstOrDefault(p => p.Name == "focus")?.Value as ResourceReference)?.Reference;
            var context = part.Part.Where(p => p.Name == "additional-context")
                .Select(p => (p.Value as ResourceReference)?.Reference).OfType<string>().ToList();
            events.Add(new NotificationEvent(number, timestamp, focus, context));
        }

        if (events.Select(e => e.Number).Distinct().Count() != events.Count)
        {
            problem = IntakeProblem.Invalid("The same event-number appears twice in one notification.");
            return null;
        }

        var errors = status.Parameter.Where(p => p.Name == "error")
            .SelectMany(p => (p.Value as CodeableConcept)?.Coding ?? [])
            .Select(c => c.Code).OfType<string>().ToList();
        var topic = (status.GetSingle("topic")?.Value as PrimitiveType)?.ToString();
        var state = (status.GetSingle("status")?.Value as PrimitiveType)?.ToString();
        return new SubscriptionNotification(subscription, topic, state, type, eventsSince, events, errors, bundle);
    }

    /// <summary>Event numbers arrive as valueString (the R4 backport's choice), or as integer types from other servers.</summary>
    public static bool TryEventNumber(DataType? value, out long number)
    {
        number = 0;
        switch (value)
        {
            case FhirString { Value: { } text }:
                return long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out number);
            case Integer { Value: { } integer } when integer >= 0:
                number = integer;
                return true;
            case UnsignedInt { Value: { } unsigned } when unsigned >= 0:
                number = unsigned;
                return true;
            case PositiveInt { Value: { } positive } when positive >= 0:
                number = positive;
                return true;
            case Integer64 { Value: { } big } when big >= 0:
                number = big;
                return true;
            case FhirDecimal { Value: { } dec } when dec >= 0 && dec == decimal.Truncate(dec) && dec <= long.MaxValue:
                number = (long)dec;
                return true;
            default:
                return false;
        }
    }

    private static string PathOf(Exception e) => e is ExtendedCodedException { InstancePath: { } path } ? path : "?";

    private static string Truncate(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
