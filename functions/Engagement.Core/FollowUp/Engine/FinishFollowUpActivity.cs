using Engagement.Fhir;
using Engagement.Measures;
using Hl7.Fhir.Model;
using Microsoft.DurableTask;

namespace Engagement.FollowUp.Engine;

/// <summary>
/// Ends a run: the CarePlan completed (or revoked when cancelled or opted out), every open Task cancelled so no
/// further work is asked of anyone, and the run's index row updated.
/// </summary>
public sealed class FinishFollowUpActivity(IFhirResourceStore store, FollowUpIndex index, TimeProvider time, IEngagementRecorder recorder) : TaskActivity<FinishRequest, string>
{
    public override async Task<string> RunAsync(TaskActivityContext context, FinishRequest input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var ct = CancellationToken.None;
        var run = input.Run;
        var ended = input.Outcome is FollowUpOutcomes.Cancelled or FollowUpOutcomes.OptedOut;
        if (input.Plan is { } plan)
        {
            foreach (var occurrence in plan.Occurrences)
            {
                if (await store.GetAsync("Task", occurrence.TaskId, ct) is { Resource: Hl7.Fhir.Model.Task task }
                    && task.Status is Hl7.Fhir.Model.Task.TaskStatus.Requested or Hl7.Fhir.Model.Task.TaskStatus.Ready or Hl7.Fhir.Model.Task.TaskStatus.InProgress)
                {
                    task.Status = Hl7.Fhir.Model.Task.TaskStatus.Cancelled;
                    task.StatusReason = new CodeableConcept { Text = input.Reason ?? input.Outcome };
                    await store.PutAsync(task, run.PatientId, ct);
                }
            }

            if (await store.GetAsync("CarePlan", plan.CarePlanId, ct) is { Resource: CarePlan carePlan } && carePlan.Status == RequestStatus.Active)
            {
                carePlan.Status = ended ? RequestStatus.Revoked : RequestStatus.Completed;
                carePlan.Period ??= new Period();
                carePlan.Period.EndElement = new FhirDateTime(time.GetUtcNow());
                await store.PutAsync(carePlan, run.PatientId, ct);
            }
        }

        if (input.Outcome == FollowUpOutcomes.OptedOut)
        {
            await MeasureEvents.RecordOptOutAsync(recorder, index, run, time.GetUtcNow(), ct);
        }

        await index.UpsertRunAsync(run.PatientId, run.InstanceId, run.Protocol.Id, run.Protocol.Title, input.Outcome, ct);
        await index.AppendOnceAsync(run.InstanceId, time.GetUtcNow(), input.Outcome, null, "finish", input.Reason, ct);
        return input.Outcome;
    }
}
