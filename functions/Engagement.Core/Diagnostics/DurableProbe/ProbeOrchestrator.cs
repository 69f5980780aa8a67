using Microsoft.DurableTask;

namespace Engagement.Diagnostics.DurableProbe;

public sealed record ProbeInput(double DelaySeconds, double EventTimeoutSeconds);

public sealed record ProbeStep(string InstanceId, int Step);

public sealed record ProbeResult(bool EventReceived, string? EventPayload, DateTime StartedUtc, DateTime TimerFiredUtc);

/// <summary>
/// Operator's end-to-end check of the durable engine: an activity, a durable timer, an external event
/// (<see cref="ProceedEvent"/>) with a timeout, and a last activity. Each activity records that it ran, so a
/// crash-and-restart can be checked for exactly-once execution.
/// </summary>
public sealed class ProbeOrchestrator : TaskOrchestrator<ProbeInput, ProbeResult>
{
    public const string ProceedEvent = "proceed";
    public const string WaitingForTimer = "waiting-for-timer";
    public const string WaitingForEvent = "waiting-for-event";
    public const string Finishing = "finishing";

    public override async Task<ProbeResult> RunAsync(TaskOrchestrationContext context, ProbeInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var started = context.CurrentUtcDateTime;
        await context.CallActivityAsync(nameof(RecordProbeStepActivity), new ProbeStep(context.InstanceId, 1));

        // Committed with the episode that schedules the timer: once visible, the orchestration is durably waiting.
        context.SetCustomStatus(WaitingForTimer);
        await context.CreateTimer(started.AddSeconds(input.DelaySeconds), CancellationToken.None);
        var timerFired = context.CurrentUtcDateTime;
        await context.CallActivityAsync(nameof(RecordProbeStepActivity), new ProbeStep(context.InstanceId, 2));

        context.SetCustomStatus(input.EventTimeoutSeconds > 0 ? WaitingForEvent : Finishing);
        string? payload = null;
        var received = false;
        if (input.EventTimeoutSeconds > 0)
        {
            try
            {
                payload = await context.WaitForExternalEvent<string>(ProceedEvent, TimeSpan.FromSeconds(input.EventTimeoutSeconds));
                received = true;
            }
            catch (TaskCanceledException)
            {
                // Timed out waiting: the probe still completes and says so.
            }
        }

        await context.CallActivityAsync(nameof(RecordProbeStepActivity), new ProbeStep(context.InstanceId, 3));
        return new ProbeResult(received, payload, started, timerFired);
    }
}
