using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json.Serialization;
using Hl7.Fhir.Model;

namespace Engagement.FollowUp;

/// <summary>
/// A follow-up protocol, read once from a PlanDefinition (see docs/fhir-conventions.md) or from an EHR's CarePlan,
/// and immutable afterwards. Build one with <see cref="FromPlanDefinition"/> or <see cref="FromCarePlan"/>.
/// </summary>
public sealed record ProtocolDefinition
{
    /// <summary>Engagement links live this long unless the protocol says otherwise.</summary>
    public static readonly ProtocolDuration DefaultLinkLifetime = ProtocolDuration.Days(7);

    public required string Id { get; init; }

    public string? Url { get; init; }

    public string? Version { get; init; }

    public string? Title { get; init; }

    /// <summary>Where the protocol came from: <c>PlanDefinition</c> or <c>CarePlan</c>.</summary>
    public required string SourceType { get; init; }

    public required ImmutableArray<ProtocolTrigger> Triggers { get; init; }

    /// <summary>FHIRPath on the triggering resource returning the dateTime of time zero; none = the event time.</summary>
    public FhirPathExpression? Anchor { get; init; }

    public required ImmutableArray<ProtocolActivity> Activities { get; init; }

    /// <summary>FHIRPath over <c>%scores</c> (the run's total scores, oldest first); true ends the protocol.</summary>
    public FhirPathExpression? StopWhen { get; init; }

    public ProtocolDuration LinkLifetime { get; init; } = DefaultLinkLifetime;

    /// <summary>What a reply to an appointment reminder does at the EHR (<see cref="AppointmentReplies"/>; default a care-team Task).</summary>
    public string AppointmentReply { get; init; } = AppointmentReplies.Task;

    /// <summary>Reads a protocol PlanDefinition; <paramref name="activityDefinitions"/> resolves the message activities' canonicals.</summary>
    public static ProtocolReadResult FromPlanDefinition(PlanDefinition plan, Func<string, ActivityDefinition?>? activityDefinitions = null) =>
        PlanDefinitionReader.Read(plan, activityDefinitions);

    /// <summary>Reads an EHR CarePlan (status active) into a protocol whose activities come from <c>activity.detail</c>.</summary>
    public static ProtocolReadResult FromCarePlan(CarePlan carePlan) => CarePlanReader.Read(carePlan);

    /// <summary>Evaluates <see cref="StopWhen"/> over the run's total scores so far, oldest first.</summary>
    public bool ShouldStop(IEnumerable<decimal> scoresOldestFirst)
    {
        ArgumentNullException.ThrowIfNull(scoresOldestFirst);
        return StopWhen is not null
            && StopWhen.IsTrue(new Dictionary<string, IEnumerable<object>> { ["scores"] = [.. scoresOldestFirst.Cast<object>()] });
    }

    /// <summary>
    /// The protocol's time zero for <paramref name="trigger"/>: the <see cref="Anchor"/> expression's dateTime, or
    /// <paramref name="receivedAt"/> when there is no anchor expression or it yields no usable dateTime. A date
    /// without a time is local midnight in <paramref name="zone"/>.
    /// </summary>
    public DateTimeOffset ResolveAnchor(Resource trigger, DateTimeOffset receivedAt, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        ArgumentNullException.ThrowIfNull(zone);
        if (Anchor is null)
        {
            return receivedAt;
        }

        return Anchor.Evaluate(trigger) is [var value, ..] && FhirInstants.TryRead(value, zone, out var anchor) ? anchor : receivedAt;
    }
}

/// <summary>The codes of the <c>appointment-reply</c> extension.</summary>
public static class AppointmentReplies
{
    /// <summary>The reply is written into the EHR's Appointment (participant accepted, or the Appointment cancelled).</summary>
    public const string UpdateAppointment = "update-appointment";

    /// <summary>A cancel asks the scheduler through a care-team Task; a confirmation is recorded only.</summary>
    public const string Task = "task";
}

/// <summary>What starts a protocol: a changed resource of a type, or a named event; the condition must hold.</summary>
public sealed record ProtocolTrigger(ProtocolTriggerKind Kind, string Name, FhirPathExpression? Condition)
{
    public static ProtocolTrigger DataChanged(string resourceType, FhirPathExpression? condition = null) =>
        new(ProtocolTriggerKind.DataChanged, resourceType, condition);

    public static ProtocolTrigger NamedEvent(string eventName, FhirPathExpression? condition = null) =>
        new(ProtocolTriggerKind.NamedEvent, eventName, condition);
}

public enum ProtocolTriggerKind
{
    /// <summary><see cref="ProtocolTrigger.Name"/> is a resource type.</summary>
    DataChanged,

    /// <summary><see cref="ProtocolTrigger.Name"/> is an event name.</summary>
    NamedEvent,
}

/// <summary>One thing the protocol does for the patient, once or recurring.</summary>
public sealed record ProtocolActivity
{
    /// <summary>Wait this long for a response before the first reminder unless the protocol says otherwise.</summary>
    public static readonly ProtocolDuration DefaultResponseWindow = ProtocolDuration.Days(1);

    public required string Id { get; init; }

    public required string Title { get; init; }

    public required ActivityTiming Timing { get; init; }

    public required ActivityContent Content { get; init; }

    public ProtocolDuration ResponseWindow { get; init; } = DefaultResponseWindow;

    public ReminderPolicy Reminders { get; init; } = ReminderPolicy.None;

    public EscalationPolicy? Escalation { get; init; }
}

/// <summary>When an activity happens, relative to the anchor or at fixed instants.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(OffsetTiming), "offset")]
[JsonDerivedType(typeof(RecurringTiming), "recurring")]
[JsonDerivedType(typeof(AbsoluteTiming), "absolute")]
public abstract record ActivityTiming;

/// <summary>Once, at anchor + <paramref name="Offset"/> (negative = before the anchor).</summary>
public sealed record OffsetTiming(ProtocolDuration Offset) : ActivityTiming;

/// <summary>At anchor + k·<paramref name="Period"/>, k = 1..count (count given, or derived from a bound).</summary>
public sealed record RecurringTiming(ProtocolDuration Period, int? Count, ProtocolDuration? Bound) : ActivityTiming;

/// <summary>At instants fixed by the source (a CarePlan's scheduled dateTimes).</summary>
public sealed record AbsoluteTiming(ImmutableArray<DateTimeOffset> Instants) : ActivityTiming;

/// <summary>
/// What the patient receives: a Questionnaire to answer and/or a message from a localized template (a code of
/// <c>{base}/CodeSystem/engagement-message</c>), and for CarePlan tasks the task's description.
/// </summary>
public sealed record ActivityContent
{
    public string? QuestionnaireCanonical { get; init; }

    public string? ActivityDefinitionCanonical { get; init; }

    public string? MessageTemplateCode { get; init; }

    public string? Description { get; init; }
}

public sealed record ReminderPolicy(int Count, ProtocolDuration Interval)
{
    public static readonly ReminderPolicy None = new(0, ProtocolDuration.Days(1));
}

/// <summary>After the last reminder goes unanswered: a Task for the care team (<paramref name="Reason"/> is clinician-facing, no PHI).</summary>
public sealed record EscalationPolicy(string Priority, string? Reason);

/// <summary>A protocol, or the problems that kept it from being read (an OperationOutcome for a 422).</summary>
public sealed record ProtocolReadResult(ProtocolDefinition? Protocol, OperationOutcome Outcome)
{
    public bool Succeeded => Protocol is not null;

    /// <summary>The protocol, or an exception listing the problems.</summary>
    public ProtocolDefinition GetProtocolOrThrow() => Protocol ?? throw new InvalidOperationException(
        "Invalid protocol: " + string.Join("; ", Outcome.Issue.Select(i =>
            string.Create(CultureInfo.InvariantCulture, $"{string.Join(",", i.Expression)}: {i.Diagnostics}"))));
}
