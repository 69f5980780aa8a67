using System.Globalization;
using Hl7.Fhir.Model;

namespace Engagement.Intake;

public enum NotificationType
{
    Handshake,
    Heartbeat,
    EventNotification,
    QueryStatus,
    QueryEvent,
}

/// <summary>One <c>notification-event</c> part: its number, when, and the focus reference (absent for empty payloads).</summary>
public sealed record NotificationEvent(long Number, DateTimeOffset? Timestamp, string? Focus, IReadOnlyList<string> AdditionalContext);

/// <summary>
/// A validated R4 topic-based notification (Subscriptions R5 Backport IG): the subscription-status Parameters and
/// the Bundle that carried it (for full-resource payloads).
/// </summary>
public sealed record SubscriptionNotification(
    string Subscription,
    string? Topic,
    string? Status,
    NotificationType Type,
    long? EventsSinceSubscriptionStart,
    IReadOnlyList<NotificationEvent> Events,
    IReadOnlyList<string> Errors,
    Bundle Bundle)
{
    public static string TypeCode(NotificationType type) => type switch
    {
        NotificationType.Handshake => "handshake",
        NotificationType.Heartbeat => "heartbeat",
        NotificationType.EventNotification => "event-notification",
        NotificationType.QueryStatus => "query-status",
        _ => "query-event",
    };

    /// <summary>Whether the notification delivers events (a heartbeat that repeats the last event's resources does not).</summary>
    public bool DeliversEvents => Type is NotificationType.EventNotification or NotificationType.QueryEvent;

    /// <summary>
    /// Deduplication key: event deliveries by subscription and event numbers (a redelivery has the same numbers);
    /// everything else by subscription, type and the body's hash (the same bytes are the same notification).
    /// </summary>
    public string DedupeKey(string bodyHash) => DedupeKey(() => bodyHash);

    /// <summary>As <see cref="DedupeKey(string)"/>, hashing the body only when the key needs it (not for event deliveries).</summary>
    public string DedupeKey(Func<string> bodyHash)
    {
        ArgumentNullException.ThrowIfNull(bodyHash);
        return DeliversEvents && Events.Count > 0
            ? $"{Subscription}|events|{string.Join(',', Events.Select(e => e.Number.ToString(CultureInfo.InvariantCulture)))}"
            : $"{Subscription}|{TypeCode(Type)}|{EventsSinceSubscriptionStart}|{bodyHash()}";
    }

    /// <summary>The Subscription's logical id (last segment of the reference), for <c>$events</c> and <c>$status</c>.</summary>
    public string SubscriptionId => ResourceRef.TryParse(Subscription, out var reference) ? reference.Id : Subscription;

    /// <summary>The resource in the bundle that <paramref name="focus"/> points to (by fullUrl, absolute or urn:uuid, or type/id).</summary>
    public Resource? FindResource(string focus)
    {
        ArgumentNullException.ThrowIfNull(focus);
        var wanted = ResourceRef.TryParse(focus, out var parsed) ? parsed : null;
        foreach (var entry in Bundle.Entry.Skip(1))
        {
            if (entry.Resource is null)
            {
                continue;
            }

            if (entry.FullUrl is { } fullUrl && (fullUrl == focus || (wanted is not null && fullUrl.EndsWith("/" + wanted.TypeAndId, StringComparison.Ordinal))))
            {
                return entry.Resource;
            }

            if (wanted is not null && entry.Resource.TypeName == wanted.Type && entry.Resource.Id == wanted.Id)
            {
                return entry.Resource;
            }
        }

        return null;
    }

    /// <summary>The bundle entry's request method for a resource (history bundles carry it): DELETE means deleted.</summary>
    public Bundle.HTTPVerb? MethodFor(Resource resource) =>
        Bundle.Entry.Skip(1).FirstOrDefault(e => ReferenceEquals(e.Resource, resource))?.Request?.Method;
}

/// <summary>A parsed FHIR reference: <c>Type/id[/_history/vid]</c>, relative or absolute.</summary>
public sealed record ResourceRef(string Type, string Id, string? VersionId)
{
    public string TypeAndId => Type + "/" + Id;

    public static bool TryParse(string? reference, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ResourceRef? parsed)
    {
        parsed = null;
        if (string.IsNullOrEmpty(reference) || reference.StartsWith("urn:", StringComparison.Ordinal) || reference.StartsWith('#'))
        {
            return false;
        }

        var path = reference.Split('?', 2)[0];
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        string? version = null;
        var end = segments.Length;
        if (end >= 4 && segments[end - 2] == "_history")
        {
            version = segments[end - 1];
            end -= 2;
        }

        if (end < 2 || !char.IsUpper(segments[end - 2][0]) || segments[end - 2].Contains(':', StringComparison.Ordinal))
        {
            return false;
        }

        parsed = new ResourceRef(segments[end - 2], segments[end - 1], version);
        return true;
    }
}
