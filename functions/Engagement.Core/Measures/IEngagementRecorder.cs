namespace Engagement.Measures;

/// <summary>
/// Records engagement events into the append-only log and its aggregates. Idempotent by <see cref="EngagementEvent.Id"/>:
/// activity retries, redelivered receipts and double clicks count once. Callers outside the engine (e.g. the inbound
/// channel gateway for delivery receipts and replies) call this too.
/// </summary>
public interface IEngagementRecorder
{
    /// <summary>Returns false when the event was already recorded (nothing changed).</summary>
    Task<bool> RecordAsync(EngagementEvent engagementEvent, CancellationToken cancellationToken);

    /// <summary>Remembers a follow-up run's protocol and cohort, so later events of the run carry them.</summary>
    Task RememberRunAsync(string instanceId, RunCohort cohort, CancellationToken cancellationToken);
}

/// <summary>What every event of one follow-up run is counted under.</summary>
public sealed record RunCohort(string Protocol, string AgeBand, string Language, string Channel);
