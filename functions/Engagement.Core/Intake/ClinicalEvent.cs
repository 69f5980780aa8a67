namespace Engagement.Intake;

public enum ClinicalEventKind
{
    Created,
    Updated,
    Deleted,
}

/// <summary>
/// One normalized EHR event, whatever delivered it (topic notification, rest-hook, Event Grid), as journaled in the
/// <c>{prefix}Events</c> table and handed to <see cref="IEventRouter"/>. <see cref="EventId"/> is deterministic: a
/// redelivery or a recovered copy of the same event has the same id.
/// </summary>
public sealed record ClinicalEvent(
    string EventId,
    string Source,
    string ResourceType,
    string ResourceId,
    string? VersionId,
    ClinicalEventKind Kind,
    string? Subscription,
    string? Topic,
    long? EventNumber,
    DateTimeOffset? Timestamp,
    string? ResourceJson)
{
    /// <summary>
    /// Patients the notification carried inline as the event's additional context (full-resource payloads: an
    /// Encounter's Patient), as JSON. Not journaled: they travel with the event to the router, which keeps them (a
    /// follow-up needs the patient's time zone, language and contact details). Empty for other deliveries.
    /// </summary>
    public IReadOnlyList<string> ContextPatientsJson { get; init; } = [];

    /// <summary>Topic events are identified by subscription and event number (the backport IG's identity of an event).</summary>
    public static string TopicEventId(string source, string subscription, long eventNumber) =>
        IntakeKeys.For("topic", source, subscription, eventNumber.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Other events are identified by resource version (or deletion) as seen at the source.</summary>
    public static string ResourceEventId(string source, string resourceType, string resourceId, string? versionId, ClinicalEventKind kind) =>
        IntakeKeys.For("resource", source, resourceType, resourceId, versionId, kind == ClinicalEventKind.Deleted ? "deleted" : "present");
}

/// <summary>
/// Where processed events go: the follow-up engine's trigger matching implements this. It must be idempotent (route
/// with deterministic orchestration instance ids): an event may be routed again after a crash.
/// </summary>
public interface IEventRouter
{
    Task RouteAsync(ClinicalEvent clinicalEvent, CancellationToken cancellationToken);
}
