using Microsoft.DurableTask;

namespace Engagement.FollowUp.Engine;

/// <summary>
/// One protocol run for one patient. Walks the planned occurrences in time: durable timer to the due instant,
/// outreach, then waits for the patient's response (an external event) with reminders per policy, escalates to the
/// care team when nobody answers, and moves on. A <see cref="FollowUpEvents.Cancel"/> event ends it cleanly at any
/// wait; an opt-out found at send time ends it too; a stop-when rule can end it early after a scored response.
/// Deterministic: only durable timers, <c>CurrentUtcDateTime</c> and activities. Cancellation of timers and waits
/// uses the synchronous <c>Cancel()</c>: <c>CancelAsync()</c> runs its callbacks on the thread pool and would resume
/// the orchestrator off its single-threaded scheduler (it hangs).
/// </summary>
public sealed class FollowUpOrchestrator : TaskOrchestrator<FollowUpInput, FollowUpResult>
{
    /// <summary>A send deferred to the patient's (changed) contact window is tried this many times at most.</summary>
    private const int MaxWindowWaits = 3;

    public override async Task<FollowUpResult> RunAsync(TaskOrchestrationContext context, FollowUpInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        using var cancelWait = new CancellationTokenSource();
        var cancel = context.WaitForExternalEvent<CancelRequest>(FollowUpEvents.Cancel, cancelWait.Token);

        var plan = await context.CallActivityAsync<FollowUpPlan>(nameof(PlanFollowUpActivity), input);
        var scores = new List<decimal>();
        var responses = 0;

        foreach (var occurrence in plan.Occurrences.Where(o => !o.IsPast))
        {
            context.SetCustomStatus(new FollowUpStatus("waiting", occurrence.Key, occurrence.DueUtc));
            if (occurrence.DueUtc > context.CurrentUtcDateTime && await WaitUntilAsync(context, occurrence.DueUtc, cancel) is { } cancelledBeforeDue)
            {
                return await FinishAsync(context, input, plan, FollowUpOutcomes.Cancelled, cancelledBeforeDue.Reason, responses, cancelWait);
            }

            using var responseWait = new CancellationTokenSource();
            var response = context.WaitForExternalEvent<FollowUpResponse>(FollowUpEvents.Response(occurrence.Key), responseWait.Token);
            FollowUpResponse? answer = null;
            var shift = TimeSpan.Zero;
            for (var attempt = 0; attempt <= occurrence.RemindersUtc.Count && answer is null; attempt++)
            {
                var plannedAt = (attempt == 0 ? occurrence.DueUtc : occurrence.RemindersUtc[attempt - 1]) + shift;
                var sent = await context.CallActivityAsync<SendResult>(nameof(SendOutreachActivity), new SendRequest(input, occurrence, attempt, plannedAt));
                // The Patient may arrive after the event that started the run (intake is concurrent): wait for it a
                // few times before going on without contact details.
                for (var wait = 0; sent.Outcome == SendOutcome.PatientUnknown && wait < plan.PatientWaitAttempts; wait++)
                {
                    context.SetCustomStatus(new FollowUpStatus("waiting-for-patient", occurrence.Key, occurrence.DueUtc));
                    if (await WaitUntilAsync(context, context.CurrentUtcDateTime + plan.PatientWait, cancel) is { } cancelledWhileWaiting)
                    {
                        responseWait.Cancel();
                        return await FinishAsync(context, input, plan, FollowUpOutcomes.Cancelled, cancelledWhileWaiting.Reason, responses, cancelWait);
                    }

                    sent = await context.CallActivityAsync<SendResult>(nameof(SendOutreachActivity), new SendRequest(input, occurrence, attempt, plannedAt));
                }

                // The patient changed their contact window since the run was planned: wait until it opens, and move
                // this occurrence's remaining waits later by as much (never earlier), so a reminder does not follow at once.
                for (var wait = 0; sent.Outcome == SendOutcome.OutsideWindow && sent.RetryAtUtc is { } opens && wait < MaxWindowWaits; wait++)
                {
                    context.SetCustomStatus(new FollowUpStatus("waiting-for-window", occurrence.Key, opens));
                    if (await WaitUntilAsync(context, opens, cancel) is { } cancelledWhileDeferred)
                    {
                        responseWait.Cancel();
                        return await FinishAsync(context, input, plan, FollowUpOutcomes.Cancelled, cancelledWhileDeferred.Reason, responses, cancelWait);
                    }

                    shift += opens > plannedAt ? opens - plannedAt : TimeSpan.Zero;
                    plannedAt = opens;
                    sent = await context.CallActivityAsync<SendResult>(nameof(SendOutreachActivity), new SendRequest(input, occurrence, attempt, plannedAt));
                }

                if (sent.Outcome == SendOutcome.OptedOut)
                {
                    responseWait.Cancel();
                    return await FinishAsync(context, input, plan, FollowUpOutcomes.OptedOut, "patient opted out", responses, cancelWait);
                }

                context.SetCustomStatus(new FollowUpStatus("awaiting-response", occurrence.Key, occurrence.DueUtc));
                var waitEnds = (attempt < occurrence.RemindersUtc.Count ? occurrence.RemindersUtc[attempt] : occurrence.WaitEndsUtc) + shift;
                using var timerCts = new CancellationTokenSource();
                var timer = context.CreateTimer(waitEnds.UtcDateTime, timerCts.Token);
                var winner = await Task.WhenAny(response, cancel, timer);
                if (winner == cancel)
                {
                    timerCts.Cancel();
                    responseWait.Cancel();
                    return await FinishAsync(context, input, plan, FollowUpOutcomes.Cancelled, cancel.Result.Reason, responses, cancelWait);
                }

                if (winner == response)
                {
                    timerCts.Cancel();
                    answer = response.Result;
                }
            }

            if (answer is null)
            {
                responseWait.Cancel();
                if (occurrence.Escalates)
                {
                    await context.CallActivityAsync(nameof(EscalateFollowUpActivity), new EscalateRequest(input, occurrence));
                }

                continue;
            }

            responses++;
            if (answer.Score is { } score)
            {
                scores.Add(score);
            }

            var recorded = await context.CallActivityAsync<RecordResponseResult>(
                nameof(RecordResponseActivity), new RecordResponseRequest(input, occurrence, answer, [.. scores]));
            if (recorded.StopProtocol)
            {
                return await FinishAsync(context, input, plan, FollowUpOutcomes.StoppedEarly, "stop-when rule met", responses, cancelWait);
            }
        }

        return await FinishAsync(context, input, plan, FollowUpOutcomes.Completed, null, responses, cancelWait);
    }

    /// <summary>Waits for a durable timer; returns the cancel request if one arrives first.</summary>
    private static async Task<CancelRequest?> WaitUntilAsync(TaskOrchestrationContext context, DateTimeOffset until, Task<CancelRequest> cancel)
    {
        using var timerCts = new CancellationTokenSource();
        var timer = context.CreateTimer(until.UtcDateTime, timerCts.Token);
        if (await Task.WhenAny(timer, cancel) == cancel)
        {
            timerCts.Cancel();
            return cancel.Result;
        }

        return null;
    }

    private static async Task<FollowUpResult> FinishAsync(
        TaskOrchestrationContext context, FollowUpInput input, FollowUpPlan plan, string outcome, string? reason, int responses, CancellationTokenSource cancelWait)
    {
        cancelWait.Cancel();
        await context.CallActivityAsync(nameof(FinishFollowUpActivity), new FinishRequest(input, plan, outcome, reason));
        context.SetCustomStatus(new FollowUpStatus(outcome, null, null));
        return new FollowUpResult(outcome, reason, responses);
    }
}

/// <summary>The orchestration's custom status: what it is doing and the next occurrence.</summary>
public sealed record FollowUpStatus(string State, string? NextOccurrence, DateTimeOffset? NextDueUtc);
