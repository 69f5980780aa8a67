using System.Globalization;
using Engagement.Fhir;
using Microsoft.DurableTask;

namespace Engagement.FollowUp.Engine;

/// <summary>Records the patient's answer against the occurrence (Task completed) and checks the stop-when rule.</summary>
public sealed class RecordResponseActivity(IFhirResourceStore store, FollowUpIndex index) : TaskActivity<RecordResponseRequest, RecordResponseResult>
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

        var detail = input.Response.Score is { } score ? $"{input.Response.Kind} score {score.ToString(CultureInfo.InvariantCulture)}" : input.Response.Kind;
        await index.AppendAsync(input.Run.InstanceId, input.Response.ReceivedUtc, "answered", input.Occurrence.Key, detail, ct);
        return new RecordResponseResult(input.Run.Protocol.ShouldStop(input.ScoresSoFar));
    }
}
