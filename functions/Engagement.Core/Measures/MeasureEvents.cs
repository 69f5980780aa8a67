using Engagement.FollowUp.Engine;

namespace Engagement.Measures;

/// <summary>Events the follow-up engine records from more than one place (same id, so they count once).</summary>
internal static class MeasureEvents
{
    public static EngagementEvent OptOut(FollowUpInput run, DateTimeOffset at) => new()
    {
        Id = "optout-" + run.InstanceId,
        Kind = EngagementEventKinds.OptOut,
        OccurredAt = at,
        InstanceId = run.InstanceId,
        Protocol = run.Protocol.Id,
    };

    /// <summary>
    /// Records the run's opt-out when the run had reached the patient. The opt-out rate is opt-outs among runs that
    /// reached their patient (<c>engaged</c>): a run that never sent anything because the patient had already opted out
    /// (a STOP counted in the run it answered) is no new opt-out, and counting it would put it in the numerator only.
    /// </summary>
    public static async Task RecordOptOutAsync(IEngagementRecorder recorder, FollowUpIndex index, FollowUpInput run, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var history = await index.HistoryAsync(run.InstanceId, cancellationToken);
        if (history.Any(h => h.Kind is "sent" or "reminded"))
        {
            await recorder.RecordAsync(OptOut(run, at), cancellationToken);
        }
    }
}
