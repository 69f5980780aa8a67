using System.Diagnostics;
using Engagement.Fhir;
using Engagement.Measures;
using Engagement.Outreach;
using Engagement.Telemetry;
using Hl7.Fhir.Model;
using Microsoft.DurableTask;
using Microsoft.Extensions.Configuration;

namespace Engagement.FollowUp.Engine;

/// <summary>
/// Nobody answered after the reminders: a Task for the care team (priority from the protocol), a message on the
/// clinician channel, and the patient's Task marked failed (no response). Idempotent by fixed ids.
/// </summary>
public sealed class EscalateFollowUpActivity(
    IFhirResourceStore store,
    OutboxStore outbox,
    MessageTemplates templates,
    FollowUpIndex index,
    TimeProvider time,
    IConfiguration configuration,
    IEngagementRecorder recorder) : TaskActivity<EscalateRequest, string>
{
    public override async Task<string> RunAsync(TaskActivityContext context, EscalateRequest input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var ct = CancellationToken.None;
        var run = input.Run;
        var occurrence = input.Occurrence;
        using var span = EngagementTelemetry.StartContinued("followup.escalate", ActivityKind.Internal, run.TraceParent);
        span?.SetTag("engagement.instance", run.InstanceId);
        span?.SetTag("engagement.occurrence", occurrence.Key);
        var now = time.GetUtcNow();
        var policy = run.Protocol.Activities.First(a => a.Id == occurrence.ActivityId).Escalation;
        var reason = policy?.Reason ?? $"no response to '{occurrence.Title}'";
        var taskId = FollowUpIds.Escalation(run.InstanceId, occurrence.Key);

        await store.CreateIfNotExistsAsync(new Hl7.Fhir.Model.Task
        {
            Id = taskId,
            Meta = new Meta { Profile = [FollowUpIds.Base + "/StructureDefinition/engagement-task"] },
            Identifier = [new Identifier(FollowUpIds.TaskIdentifierSystem, $"{run.InstanceId}/{occurrence.Key}/escalation")],
            GroupIdentifier = new Identifier(FollowUpIds.FollowUpIdentifierSystem, run.InstanceId),
            BasedOn = [new ResourceReference("CarePlan/" + FollowUpIds.CarePlan(run.InstanceId))],
            Status = Hl7.Fhir.Model.Task.TaskStatus.Requested,
            Intent = Hl7.Fhir.Model.Task.TaskIntent.Order,
            Priority = ParsePriority(policy?.Priority),
            Code = new CodeableConcept(FollowUpIds.TaskCodeSystem, "follow-up-no-response"),
            Description = reason,
            Focus = new ResourceReference("Task/" + occurrence.TaskId),
            For = new ResourceReference("Patient/" + run.PatientId),
            AuthoredOnElement = new FhirDateTime(now),
            ExecutionPeriod = new Period { StartElement = new FhirDateTime(now) },
        }, run.PatientId, ct);

        if (await store.GetAsync("Task", occurrence.TaskId, ct) is { Resource: Hl7.Fhir.Model.Task task }
            && task.Status is Hl7.Fhir.Model.Task.TaskStatus.Requested or Hl7.Fhir.Model.Task.TaskStatus.Ready or Hl7.Fhir.Model.Task.TaskStatus.InProgress)
        {
            task.Status = Hl7.Fhir.Model.Task.TaskStatus.Failed;
            task.BusinessStatus = new CodeableConcept(FollowUpIds.TaskCodeSystem, "no-response");
            await store.PutAsync(task, run.PatientId, ct);
        }

        var text = templates.Render("escalation", MessageTemplates.DefaultLanguage, new Dictionary<string, string> { ["reason"] = reason });
        await outbox.EnqueueAsync(new OutreachMessage
        {
            MessageId = OutreachMessage.CreateId(run.InstanceId, occurrence.Key, "escalation"),
            PatientId = run.PatientId,
            Channel = "clinician",
            Language = MessageTemplates.DefaultLanguage,
            TemplateCode = "escalation",
            To = configuration["Engagement:CareTeam:Address"] ?? "care-team",
            Text = text,
            ProtocolId = run.Protocol.Id,
            InstanceId = run.InstanceId,
            ActivityId = occurrence.ActivityId,
            CreatedAt = now,
            TraceParent = EngagementTelemetry.CurrentTraceParent,
        }, ct);
        await recorder.RecordAsync(new EngagementEvent
        {
            Id = "escalation-" + taskId,
            Kind = EngagementEventKinds.EscalationRaised,
            OccurredAt = now,
            InstanceId = run.InstanceId,
            Questionnaire = run.Protocol.Activities.First(a => a.Id == occurrence.ActivityId).Content.QuestionnaireCanonical,
            TaskId = taskId,
        }, ct);
        await index.AppendOnceAsync(run.InstanceId, now, "escalated", occurrence.Key, "escalation", policy?.Priority ?? "routine", ct);
        return taskId;
    }

    private static RequestPriority ParsePriority(string? code) => code switch
    {
        "urgent" => RequestPriority.Urgent,
        "asap" => RequestPriority.Asap,
        "stat" => RequestPriority.Stat,
        _ => RequestPriority.Routine,
    };
}
