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
}
