namespace Engagement.FollowUp.Engine;

/// <summary>What starts one follow-up run: one protocol, one patient, one triggering resource.</summary>
public sealed record FollowUpInput(
    string InstanceId,
    ProtocolDefinition Protocol,
    string PatientId,
    string Source,
    string TriggerType,
    string TriggerId,
    DateTimeOffset AnchorUtc,
    string? TraceParent = null);

/// <summary>The run laid out in time (UTC, already scaled by SecondsPerDay), as the orchestrator walks it.</summary>
/// <remarks>
/// <see cref="PatientWait"/> × <see cref="PatientWaitAttempts"/>: how long a send waits for a Patient not stored yet.
/// Defaults keep plans recorded before these existed (no waiting) replaying as they ran.
/// </remarks>
public sealed record FollowUpPlan(string CarePlanId, IReadOnlyList<PlannedOccurrence> Occurrences, TimeSpan PatientWait = default, int PatientWaitAttempts = 0);

/// <summary>
/// One activity occurrence: when it is due, when each reminder goes, and when waiting ends (escalation or, with no
/// escalation policy, simply moving on). <see cref="TaskId"/> is the FHIR Task the patient completes.
/// </summary>
public sealed record PlannedOccurrence(
    string Key,
    string ActivityId,
    string Title,
    string TaskId,
    DateTimeOffset DueUtc,
    IReadOnlyList<DateTimeOffset> RemindersUtc,
    DateTimeOffset WaitEndsUtc,
    DateTimeOffset LinkExpiresUtc,
    bool Escalates,
    bool IsPast);

/// <summary>
/// One send. <paramref name="AtUtc"/> is the instant the send was planned for (a reminder's, or the due time, moved by any
/// deferral so far): the contact window is checked at that instant, not at the moment the activity happens to run.
/// Null in runs started before the check existed.
/// </summary>
public sealed record SendRequest(FollowUpInput Run, PlannedOccurrence Occurrence, int Attempt, DateTimeOffset? AtUtc = null);

public enum SendOutcome
{
    Sent,
    OptedOut,
    NoChannel,

    /// <summary>No Patient resource yet (its notification not processed, the EHR unreachable): try again later.</summary>
    PatientUnknown,

    /// <summary>
    /// The instant the send was planned for (<see cref="SendRequest.AtUtc"/>) is outside the patient's contact window as
    /// it is now (changed since the run was planned): nothing was sent; try again at <see cref="SendResult.RetryAtUtc"/>,
    /// when it opens.
    /// </summary>
    OutsideWindow,
}

public sealed record SendResult(SendOutcome Outcome, string? MessageId, string? Channel, DateTimeOffset? RetryAtUtc = null);

/// <summary>Raised by whoever receives the patient's answer (QuestionnaireResponse, SMS reply, confirmation).</summary>
public sealed record FollowUpResponse(string Kind, string? ResponseId, decimal? Score, DateTimeOffset ReceivedUtc);

public sealed record RecordResponseRequest(FollowUpInput Run, PlannedOccurrence Occurrence, FollowUpResponse Response, IReadOnlyList<decimal> ScoresSoFar);

public sealed record RecordResponseResult(bool StopProtocol);

public sealed record EscalateRequest(FollowUpInput Run, PlannedOccurrence Occurrence);

/// <summary>Cancels a run: from the care team (admin route), an EHR change, or the patient's opt-out.</summary>
public sealed record CancelRequest(string Reason);

public sealed record FinishRequest(FollowUpInput Run, FollowUpPlan? Plan, string Outcome, string? Reason);

public sealed record FollowUpResult(string Outcome, string? Reason, int Responses);

/// <summary>Names of the events a follow-up orchestration waits for.</summary>
public static class FollowUpEvents
{
    public const string Cancel = "cancel";

    /// <summary>The response to one occurrence: <c>response:{occurrenceKey}</c>.</summary>
    public static string Response(string occurrenceKey) => "response:" + occurrenceKey;
}

/// <summary>Outcomes a run ends with (also the <c>FollowUps</c> index status).</summary>
public static class FollowUpOutcomes
{
    public const string Completed = "completed";
    public const string StoppedEarly = "stopped-early";
    public const string Cancelled = "cancelled";
    public const string OptedOut = "opted-out";
}
