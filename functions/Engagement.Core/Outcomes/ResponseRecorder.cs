using Engagement.Fhir;
using Engagement.FollowUp.Engine;
using Engagement.Outreach;
using Hl7.Fhir.Model;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Outcomes;

/// <summary>Whose response it is and what it answers: the patient, their Task and the follow-up run waiting for it.</summary>
public sealed record ResponseOwner(string PatientId, string TaskId, string InstanceId);

/// <summary>
/// What follows a validated, scored QuestionnaireResponse however it arrived (engagement link or an SMS reply): its
/// Provenance, the score Observation, the Task completed, red flags (urgent Task, Flag, clinician message), and the
/// follow-up orchestration's response event. Every write is keyed by the response id, so running it twice is harmless.
/// </summary>
public sealed class ResponseRecorder(IFhirResourceStore store, OutboxStore outbox, MessageTemplates templates, IConfiguration configuration)
{
    private const string Base = "http://engagement-functions.org/fhir";

    public async Task RecordAsync(
        Questionnaire questionnaire, QuestionnaireResponse scored, ProcessedResponse processed, ResponseOwner owner, string kind,
        DateTimeOffset now, DurableTaskClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(questionnaire);
        ArgumentNullException.ThrowIfNull(scored);
        ArgumentNullException.ThrowIfNull(processed);
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(client);
        await store.CreateIfNotExistsAsync(Provenance(scored, owner, now), owner.PatientId, cancellationToken);
        if (processed.TotalScore is { } total && ScoreObservation(questionnaire, scored, owner, total, processed.Band, now) is { } observation)
        {
            await store.CreateIfNotExistsAsync(observation, owner.PatientId, cancellationToken);
        }

        await CompleteTaskAsync(owner, scored.Id!, cancellationToken);
        foreach (var flag in processed.RedFlags)
        {
            await RaiseRedFlagAsync(owner, scored.Id!, flag, now, cancellationToken);
        }

        await ResumeFollowUpAsync(client, owner, kind, scored.Id!, processed.TotalScore, now, cancellationToken);
    }

    private async Task CompleteTaskAsync(ResponseOwner link, string responseId, CancellationToken cancellationToken)
    {
        if (await store.GetAsync("Task", link.TaskId, cancellationToken) is { Resource: Hl7.Fhir.Model.Task task }
            && task.Status != Hl7.Fhir.Model.Task.TaskStatus.Completed)
        {
            task.Status = Hl7.Fhir.Model.Task.TaskStatus.Completed;
            task.Output.Add(new Hl7.Fhir.Model.Task.OutputComponent
            {
                Type = new CodeableConcept(FollowUpIds.TaskCodeSystem, "response"),
                Value = new ResourceReference("QuestionnaireResponse/" + responseId),
            });
            await store.PutAsync(task, link.PatientId, cancellationToken);
        }
    }

    private async Task RaiseRedFlagAsync(ResponseOwner link, string responseId, RaisedRedFlag flag, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var key = $"{responseId}-{flag.Code.Code}";
        var flagId = "flag-" + OutreachMessage.CreateId(key)[4..];
        await store.CreateIfNotExistsAsync(new Flag
        {
            Id = flagId,
            Meta = new Meta { Profile = [Base + "/StructureDefinition/engagement-flag"] },
            Status = Flag.FlagStatus.Active,
            Category = [new CodeableConcept("http://terminology.hl7.org/CodeSystem/flag-category", "clinical")],
            Code = new CodeableConcept { Coding = [flag.Code], Text = flag.Description },
            Subject = new ResourceReference("Patient/" + link.PatientId),
            Period = new Period { StartElement = new FhirDateTime(now) },
        }, link.PatientId, cancellationToken);
        await store.CreateIfNotExistsAsync(new Hl7.Fhir.Model.Task
        {
            Id = "rf-" + OutreachMessage.CreateId(key)[4..],
            Meta = new Meta { Profile = [Base + "/StructureDefinition/engagement-task"] },
            Identifier = [new Identifier(FollowUpIds.TaskIdentifierSystem, key)],
            Status = Hl7.Fhir.Model.Task.TaskStatus.Requested,
            Intent = Hl7.Fhir.Model.Task.TaskIntent.Order,
            Priority = flag.Priority switch { "stat" => RequestPriority.Stat, "asap" => RequestPriority.Asap, "urgent" => RequestPriority.Urgent, _ => RequestPriority.Routine },
            Code = new CodeableConcept(FollowUpIds.TaskCodeSystem, "review-red-flag"),
            Description = flag.Description,
            Focus = new ResourceReference("QuestionnaireResponse/" + responseId),
            For = new ResourceReference("Patient/" + link.PatientId),
            AuthoredOnElement = new FhirDateTime(now),
        }, link.PatientId, cancellationToken);
        await outbox.EnqueueAsync(new OutreachMessage
        {
            MessageId = OutreachMessage.CreateId(key, "red-flag"),
            PatientId = link.PatientId,
            Channel = "clinician",
            Language = MessageTemplates.DefaultLanguage,
            TemplateCode = "escalation",
            To = configuration["Engagement:CareTeam:Address"] ?? "care-team",
            Text = templates.Render("escalation", MessageTemplates.DefaultLanguage, new Dictionary<string, string> { ["reason"] = flag.Description }),
            InstanceId = link.InstanceId,
            CreatedAt = now,
        }, cancellationToken);
    }

    private async Task ResumeFollowUpAsync(DurableTaskClient client, ResponseOwner link, string kind, string responseId, decimal? score, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (await store.GetAsync("Task", link.TaskId, cancellationToken) is not { Resource: Hl7.Fhir.Model.Task task }
            || task.Identifier.FirstOrDefault(i => i.System == FollowUpIds.TaskIdentifierSystem)?.Value is not { } identifier
            || !identifier.StartsWith(link.InstanceId + "/", StringComparison.Ordinal))
        {
            return;
        }

        var occurrenceKey = identifier[(link.InstanceId.Length + 1)..];
        var instance = await client.GetInstanceAsync(link.InstanceId, getInputsAndOutputs: false, cancellationToken);
        if (instance is { IsCompleted: false })
        {
            await client.RaiseEventAsync(link.InstanceId, FollowUpEvents.Response(occurrenceKey),
                new FollowUpResponse(kind, responseId, score, now), cancellationToken);
        }
    }

    private static Provenance Provenance(QuestionnaireResponse response, ResponseOwner link, DateTimeOffset now) => new()
    {
        Id = "prov-" + response.Id,
        Target = [new ResourceReference("QuestionnaireResponse/" + response.Id)],
        RecordedElement = new Instant(now),
        Activity = new CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-DataOperation", "CREATE"),
        Agent =
        [
            new Provenance.AgentComponent
            {
                Type = new CodeableConcept("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "author"),
                Who = new ResourceReference("Patient/" + link.PatientId),
            },
        ],
    };

    private static Observation? ScoreObservation(Questionnaire questionnaire, QuestionnaireResponse response, ResponseOwner link, decimal total, string? band, DateTimeOffset now)
    {
        var scoreItem = Flatten(questionnaire.Item).FirstOrDefault(i => i.Code.Any(c => ScoreCodes.Find(c.System, c.Code) is not null));
        var code = scoreItem?.Code.First(c => ScoreCodes.Find(c.System, c.Code) is not null);
        if (code is null)
        {
            return null;
        }

        var observation = new Observation
        {
            Id = "obs-" + response.Id,
            Meta = new Meta { Profile = [Base + "/StructureDefinition/engagement-observation"] },
            Identifier = [new Identifier(Base + "/identifier/observation", response.Id)],
            Status = ObservationStatus.Final,
            Category = [new CodeableConcept("http://terminology.hl7.org/CodeSystem/observation-category", "survey")],
            Code = new CodeableConcept { Coding = [new Coding(code.System, code.Code, code.Display)] },
            Subject = new ResourceReference("Patient/" + link.PatientId),
            Effective = response.AuthoredElement,
            Issued = now,
            Value = new Quantity { Value = total, Unit = "{score}", System = "http://unitsofmeasure.org", Code = "{score}" },
            DerivedFrom = [new ResourceReference("QuestionnaireResponse/" + response.Id)],
        };
        if (band is not null)
        {
            observation.Interpretation = [new CodeableConcept { Text = band }];
        }

        return observation;
    }

    private static IEnumerable<Questionnaire.ItemComponent> Flatten(IEnumerable<Questionnaire.ItemComponent> items) =>
        items.SelectMany(i => new[] { i }.Concat(Flatten(i.Item)));
}
