using System.Globalization;
using Engagement.Fhir;
using Engagement.Measures;
using Microsoft.DurableTask;

namespace Engagement.FollowUp.Engine;

/// <summary>Records the patient's answer against the occurrence (Task completed) and checks the stop-when rule.</summary>
public sealed class RecordResponseActivity(IFhirResourceStore store, FollowUpIndex index, IEngagementRecorder recorder) : TaskActivity<RecordResponseRequest, RecordResponseResult>
{
    public override async Task<RecordResponseResult> RunAsync(TaskActivityContext context, RecordResponseRequest input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var ct = CancellationToken.None;
        if (await store.GetAsync("Task", input.Occurrence.TaskId, ct) is { Resource: Hl7.Fhir.Model.Task task }
            && task.Status != Hl7.Fhir.Model.Task.TaskStatus.Completed)
        {
            task.Status = Hl7.Fhir.Model.Task.TaskStatus.Completed;
            if (input.Response.ResponseId is { } responseId)
            {
                task.Output.Add(new Hl7.Fhir.Model.Task.OutputComponent
                {
                    Type = new Hl7.Fhir.Model.CodeableConcept(FollowUpIds.TaskCodeSystem, "response"),
                    Value = new Hl7.Fhir.Model.ResourceReference("QuestionnaireResponse/" + responseId),
                });
            }

            await store.PutAsync(task, input.Run.PatientId, ct);
        }

        var questionnaire = input.Run.Protocol.Activities.FirstOrDefault(a => a.Id == input.Occurrence.ActivityId)?.Content.QuestionnaireCanonical;
        var received = input.Response.ReceivedUtc;
        await recorder.RecordAsync(new EngagementEvent
        {
            Id = $"response-{input.Run.InstanceId}-{input.Occurrence.Key}",
            Kind = EngagementEventKinds.ResponseReceived,
            OccurredAt = received,
            InstanceId = input.Run.InstanceId,
            Questionnaire = questionnaire,
            PatientId = input.Run.PatientId,
            Minutes = Math.Max(0, (received - input.Occurrence.DueUtc).TotalMinutes),
            Score = input.Response.Score,
        }, ct);
        if (received <= input.Occurrence.WaitEndsUtc)
        {
            await recorder.RecordAsync(new EngagementEvent
            {
                Id = $"ontime-{input.Run.InstanceId}-{input.Occurrence.Key}",
                Kind = EngagementEventKinds.CompletedOnTime,
                OccurredAt = received,
                InstanceId = input.Run.InstanceId,
                Questionnaire = questionnaire,
            }, ct);
        }

        var detail = input.Response.Score is { } score ? $"{input.Response.Kind} score {score.ToString(CultureInfo.InvariantCulture)}" : input.Response.Kind;
        await index.AppendAsync(input.Run.InstanceId, input.Response.ReceivedUtc, "answered", input.Occurrence.Key, detail, ct);
        return new RecordResponseResult(input.Run.Protocol.ShouldStop(input.ScoresSoFar));
    }
}
