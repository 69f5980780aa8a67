using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Engagement.Telemetry;

/// <summary>
/// The product's traces and metrics. Spans and tags carry ids, codes and counts only — never names, birth dates,
/// identifiers, telecom values, free text or answers (a test scans everything emitted).
/// </summary>
public static class EngagementTelemetry
{
    public const string Name = "Engagement";

    public static readonly ActivitySource Source = new(Name);

    /// <summary>
    /// Starts a span continuing the trace whose W3C <c>traceparent</c> was stored with the work (an intake queue item,
    /// a follow-up run's input, an outbox message), so one trace follows a notification from the EHR's request through
    /// intake, the orchestration's activities and outreach. Without a stored parent the current span (if any) is used.
    /// </summary>
    public static Activity? StartContinued(string name, ActivityKind kind, string? traceParent)
    {
        var parent = ActivityContext.TryParse(traceParent, null, isRemote: true, out var stored) ? stored : default;
        return Source.StartActivity(name, kind, parent);
    }

    /// <summary>The W3C <c>traceparent</c> of the current span, to store with work that continues elsewhere.</summary>
    public static string? CurrentTraceParent => Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;

    private static readonly Meter Meter = new(Name);

    /// <summary>EHR events acknowledged (stored) at intake. Tags: source, channel (rest-hook, event-grid…).</summary>
    public static readonly Counter<long> EventsAccepted = Meter.CreateCounter<long>("engagement.events.accepted", "{event}", "EHR events acknowledged after being stored");

    /// <summary>EHR events refused at intake. Tags: source, reason (an HTTP status class or problem code).</summary>
    public static readonly Counter<long> EventsRejected = Meter.CreateCounter<long>("engagement.events.rejected", "{event}", "EHR events refused at intake");

    /// <summary>Events recovered after a gap in a subscription's event numbers.</summary>
    public static readonly Counter<long> EventsRecovered = Meter.CreateCounter<long>("engagement.events.recovered", "{event}", "EHR events recovered after a gap");

    /// <summary>Events processed (routed to the follow-up engine).</summary>
    public static readonly Counter<long> EventsProcessed = Meter.CreateCounter<long>("engagement.events.processed", "{event}", "EHR events processed");

    /// <summary>Outreach messages handed to the transport. Tags: channel, language, protocol.</summary>
    public static readonly Counter<long> MessagesSent = Meter.CreateCounter<long>("engagement.messages.sent", "{message}", "Outreach messages sent");

    /// <summary>Outreach messages withheld at dispatch because the patient opted out after they were decided. Tags: channel.</summary>
    public static readonly Counter<long> MessagesSuppressed = Meter.CreateCounter<long>("engagement.messages.suppressed", "{message}", "Outreach messages withheld after an opt-out");

    /// <summary>Patient responses stored. Tags: questionnaire, protocol.</summary>
    public static readonly Counter<long> ResponsesReceived = Meter.CreateCounter<long>("engagement.responses.received", "{response}", "Patient responses stored");

    /// <summary>Resources written back to an EHR. Tags: source, resourceType, outcome (created, updated, failed).</summary>
    public static readonly Counter<long> WriteBacks = Meter.CreateCounter<long>("engagement.writeback.requests", "{request}", "Resources written back to the EHR");

    /// <summary>Durable probe runs started (operator diagnostics).</summary>
    public static readonly Counter<long> ProbesStarted = Meter.CreateCounter<long>("engagement.diagnostics.probes", "{run}", "Durable probe orchestrations started");
}
