using Engagement.Fhir;
using Engagement.FollowUp.Engine;
using Engagement.Http;
using Engagement.Measures;
using Engagement.Outreach;
using Engagement.Telemetry;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Outcomes;

/// <summary>
/// Whom and what a submitted response is about, decided by the caller's credentials (an engagement link, or a SMART
/// token plus the Task it is based on), never by the client's body. <paramref name="ResponseId"/> is deterministic
/// for one submission, so a retry finds the stored response instead of writing a second one.
/// </summary>
public sealed record ResponseTarget(
    string PatientId,
    string QuestionnaireCanonical,
    string ResponseId,
    Identifier Identifier,
    string? TaskId,
    string? InstanceId);

/// <summary>A validated and scored response ready to store, or the 422 to answer.</summary>
public sealed record PreparedResponse(ProcessedResponse Processed, QuestionnaireResponse? Scored, IResult? Rejection);

/// <summary>
/// The part of a questionnaire submission every entry point shares (<c>POST /api/engage/{token}/response</c> and
/// <c>POST /api/fhir/QuestionnaireResponse</c>): validate per SDC and score (<see cref="Prepare"/>); store once
/// (<see cref="StoreAsync"/>); then, keyed by the response id so that a retry repeats no effect
/// (<see cref="CompleteAsync"/>): Provenance, the total score as an Observation, the Task completed, red flags
/// (urgent Task, Flag, clinician message), the follow-up orchestration's external event.
/// </summary>
public sealed class ResponseRecorder(
    QuestionnaireEngine engine,
    IFhirResourceStore store,
    OutboxStore outbox,
    MessageTemplates templates,
    TimeProvider time,
    IConfiguration configuration,
    IEngagementRecorder measures,
    ILogger<ResponseRecorder> logger)
{
    public const string Base = "http://engagement-functions.org/fhir";

    /// <summary>Our identifier system for stored responses (also what write-back sends as <c>If-None-Exist</c>).</summary>
    public const string IdentifierSystem = Base + "/identifier/questionnaire-response";

    /// <summary>Replaces who/what/which-task with the target's values, then validates and scores.</summary>
    public PreparedResponse Prepare(Questionnaire questionnaire, QuestionnaireResponse response, ResponseTarget target)
    {
        ArgumentNullException.ThrowIfNull(questionnaire);
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(target);
        response.Id = target.ResponseId;
        response.Questionnaire = target.QuestionnaireCanonical;
        response.Subject = new ResourceReference("Patient/" + target.PatientId);
        response.BasedOn = target.TaskId is null ? [] : [new ResourceReference("Task/" + target.TaskId)];
        response.AuthoredElement ??= new FhirDateTime(time.GetUtcNow());
        response.Status ??= QuestionnaireResponse.QuestionnaireResponseStatus.Completed;

        var processed = engine.Process(questionnaire, response);
        if (!processed.IsValid || processed.Scored is not { } scored)
        {
            return new PreparedResponse(processed, null, FhirResults.Resource(processed.Outcome, StatusCodes.Status422UnprocessableEntity));
        }

        scored.Meta = new Meta { Profile = [Base + "/StructureDefinition/engagement-questionnaireresponse"] };
        scored.Identifier = target.Identifier;
        return new PreparedResponse(processed, scored, null);
    }

    /// <summary>Stores the scored response unless one with its id exists; returns the stored one either way.</summary>
    public Task<(StoredResource Stored, bool Created)> StoreAsync(QuestionnaireResponse scored, ResponseTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        return store.CreateIfNotExistsAsync(scored, target.PatientId, cancellationToken);
    }

    /// <summary>Everything after the response is stored; each step is idempotent, keyed by the response id.</summary>
    public async Task CompleteAsync(Questionnaire questionnaire, PreparedResponse prepared, ResponseTarget target, DurableTaskClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(questionnaire);
        ArgumentNullException.ThrowIfNull(prepared);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(client);
        var scored = prepared.Scored ?? throw new ArgumentException("Only a valid, scored response can be completed.", nameof(prepared));
        var processed = prepared.Processed;
        var now = time.GetUtcNow();
        await store.CreateIfNotExistsAsync(Provenance(scored, target, now), target.PatientId, cancellationToken);
        if (processed.TotalScore is { } total && ScoreObservation(questionnaire, scored, target, total, processed.Band, now) is { } observation)
        {
            await store.CreateIfNotExistsAsync(observation, target.PatientId, cancellationToken);
        }

        if (target.TaskId is { } taskId)
        {
            await CompleteTaskAsync(taskId, target.PatientId, scored.Id!, cancellationToken);
        }

        foreach (var flag in processed.RedFlags)
        {
            await RaiseRedFlagAsync(target, scored.Id!, flag, now, cancellationToken);
        }

        if (target.TaskId is not null && target.InstanceId is not null)
        {
            await ResumeFollowUpAsync(client, target, scored.Id!, processed.TotalScore, now, cancellationToken);
        }

        EngagementTelemetry.ResponsesReceived.Add(1, new KeyValuePair<string, object?>("questionnaire", target.QuestionnaireCanonical));
        logger.LogInformation("Response {ResponseId} stored for task {TaskId}; {RedFlags} red flags", scored.Id, target.TaskId, processed.RedFlags.Count);
    }

    private async Task CompleteTaskAsync(string taskId, string patientId, string responseId, CancellationToken cancellationToken)
    {
        if (await store.GetAsync("Task", taskId, cancellationToken) is { Resource: Hl7.Fhir.Model.Task task }
            && task.Status != Hl7.Fhir.Model.Task.TaskStatus.Completed)
        {
            task.Status = Hl7.Fhir.Model.Task.TaskStatus.Completed;
            task.Output.Add(new Hl7.Fhir.Model.Task.OutputComponent
            {
                Type = new CodeableConcept(FollowUpIds.TaskCodeSystem, "response"),
                Value = new ResourceReference("QuestionnaireResponse/" + responseId),
            });
            await store.PutAsync(task, patientId, cancellationToken);
        }
    }

    private async Task RaiseRedFlagAsync(ResponseTarget target, string responseId, RaisedRedFlag flag, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var key = $"{responseId}-{flag.Code.Code}";
        var flagId = "flag-" + OutreachMessage.CreateId(key)[4..];
        await store.CreateIfNotExistsAsync(new Flag
        {
            Id = flagId,
            Meta = new Meta { Profile = [Base + "/StructureDefinition/engagement-flag"] },
            Identifier = [new Identifier(Base + "/identifier/flag", key)],
            Status = Flag.FlagStatus.Active,
            Category = [new CodeableConcept("http://terminology.hl7.org/CodeSystem/flag-category", "clinical")],
            Code = new CodeableConcept { Coding = [flag.Code], Text = flag.Description },
            Subject = new ResourceReference("Patient/" + target.PatientId),
            Period = new Period { StartElement = new FhirDateTime(now) },
        }, target.PatientId, cancellationToken);
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
            For = new ResourceReference("Patient/" + target.PatientId),
            AuthoredOnElement = new FhirDateTime(now),
        }, target.PatientId, cancellationToken);
        var redFlagTaskId = "rf-" + OutreachMessage.CreateId(key)[4..];
        await measures.RecordAsync(new EngagementEvent
        {
            Id = "red-flag-" + redFlagTaskId,
            Kind = EngagementEventKinds.RedFlagRaised,
            OccurredAt = now,
            InstanceId = target.InstanceId,
            Questionnaire = target.QuestionnaireCanonical,
            TaskId = redFlagTaskId,
        }, cancellationToken);
        await outbox.EnqueueAsync(new OutreachMessage
        {
            MessageId = OutreachMessage.CreateId(key, "red-flag"),
            PatientId = target.PatientId,
            Channel = "clinician",
            Language = MessageTemplates.DefaultLanguage,
            TemplateCode = "escalation",
            To = configuration["Engagement:CareTeam:Address"] ?? "care-team",
            Text = templates.Render("escalation", MessageTemplates.DefaultLanguage, new Dictionary<string, string> { ["reason"] = flag.Description }),
            InstanceId = target.InstanceId,
            CreatedAt = now,
        }, cancellationToken);
    }

    private async Task ResumeFollowUpAsync(DurableTaskClient client, ResponseTarget target, string responseId, decimal? score, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var instanceId = target.InstanceId!;
        if (await store.GetAsync("Task", target.TaskId!, cancellationToken) is not { Resource: Hl7.Fhir.Model.Task task }
            || task.Identifier.FirstOrDefault(i => i.System == FollowUpIds.TaskIdentifierSystem)?.Value is not { } identifier
            || !identifier.StartsWith(instanceId + "/", StringComparison.Ordinal))
        {
            return;
        }

        var occurrenceKey = identifier[(instanceId.Length + 1)..];
        var instance = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken);
        if (instance is { IsCompleted: false })
        {
            await client.RaiseEventAsync(instanceId, FollowUpEvents.Response(occurrenceKey),
                new FollowUpResponse("questionnaire", responseId, score, now), cancellationToken);
        }
    }

    private static Provenance Provenance(QuestionnaireResponse response, ResponseTarget target, DateTimeOffset now) => new()
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
                Who = new ResourceReference("Patient/" + target.PatientId),
            },
        ],
    };

    /// <summary>The total score as an Observation coded with the score item's LOINC (or other known) code.</summary>
    public static Observation? ScoreObservation(Questionnaire questionnaire, QuestionnaireResponse response, ResponseTarget target, decimal total, string? band, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(questionnaire);
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(target);
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
            Subject = new ResourceReference("Patient/" + target.PatientId),
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
