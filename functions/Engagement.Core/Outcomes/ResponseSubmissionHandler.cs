using System.Globalization;
using Engagement.Fhir;
using Engagement.FollowUp.Engine;
using Engagement.Http;
using Engagement.Links;
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
/// <c>POST /api/engage/{token}/response</c>: the patient's QuestionnaireResponse, through their engagement link.
/// Never trusting the renderer: the link decides patient, Task and Questionnaire; the response is validated against
/// the Questionnaire (SDC) and scored by us. Stored once per link (the first submission wins, a second gets 410),
/// with a Provenance and the total score as an Observation; the Task completes; red flags raise an urgent Task, a
/// Flag and a clinician message; the follow-up orchestration waiting for this answer is resumed.
/// </summary>
public sealed class ResponseSubmissionHandler(
    LinkValidator links,
    DefinitionsTerminology terminology,
    QuestionnaireEngine engine,
    IFhirResourceStore store,
    OutboxStore outbox,
    MessageTemplates templates,
    TimeProvider time,
    IConfiguration configuration,
    IEngagementRecorder recorder,
    ILogger<ResponseSubmissionHandler> logger)
{
    private const string Base = "http://engagement-functions.org/fhir";

    public async Task<IResult> SubmitAsync(HttpRequest request, string token, DurableTaskClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var validation = await links.ValidateAsync(token, cancellationToken);
        if (validation.Context is not { } link)
        {
            return EngageHandler.Refused(validation.Failure ?? LinkFailure.Forged);
        }

        var (resource, error, invalid) = await FhirRequestBody.ReadAsync(request, cancellationToken);
        if (error is not null)
        {
            return error;
        }

        if (invalid is not null)
        {
            return FhirResults.Resource(invalid, StatusCodes.Status422UnprocessableEntity);
        }

        if (resource is not QuestionnaireResponse response)
        {
            return FhirResults.BadRequest($"Expected a QuestionnaireResponse, got {resource?.TypeName ?? "nothing"}.");
        }

        if (response.Questionnaire is { } claimed && claimed.Split('|')[0] != link.QuestionnaireCanonical.Split('|')[0])
        {
            return FhirResults.Outcome(StatusCodes.Status422UnprocessableEntity, OperationOutcome.IssueType.BusinessRule,
                "This link is for a different questionnaire.");
        }

        if (response.Subject?.Reference is { } subject && subject != "Patient/" + link.PatientId)
        {
            return FhirResults.Forbidden("A response through this link can only be about its own patient.");
        }

        var snapshot = await terminology.RefreshAsync(cancellationToken);
        if (snapshot.Resolve<Questionnaire>(link.QuestionnaireCanonical) is not { } questionnaire)
        {
            logger.LogWarning("Questionnaire for link {LinkId} is not in the catalog", link.LinkId);
            return FhirResults.Unavailable("The questionnaire is not available right now; try again later.");
        }

        // The link decides who and what; the client's values for these are replaced, not trusted.
        var now = time.GetUtcNow();
        response.Id = "qr-" + link.LinkId;
        response.Questionnaire = link.QuestionnaireCanonical;
        response.Subject = new ResourceReference("Patient/" + link.PatientId);
        response.BasedOn = [new ResourceReference("Task/" + link.TaskId)];
        response.AuthoredElement ??= new FhirDateTime(now);
        response.Status ??= QuestionnaireResponse.QuestionnaireResponseStatus.Completed;

        var processed = engine.Process(questionnaire, response);
        if (!processed.IsValid || processed.Scored is not { } scored)
        {
            return FhirResults.Resource(processed.Outcome, StatusCodes.Status422UnprocessableEntity);
        }

        scored.Meta = new Meta { Profile = [Base + "/StructureDefinition/engagement-questionnaireresponse"] };
        scored.Identifier = new Identifier(Base + "/identifier/questionnaire-response", link.LinkId);
        var (stored, created) = await store.CreateIfNotExistsAsync(scored, link.PatientId, cancellationToken);
        if (!created && (await links.ValidateAsync(token, cancellationToken)).Failure == LinkFailure.Used)
        {
            return EngageHandler.Refused(LinkFailure.Used);
        }

        // Everything below is keyed by the response id, so a retry after a failure here repeats no effect.
        await store.CreateIfNotExistsAsync(Provenance(scored, link, now), link.PatientId, cancellationToken);
        if (processed.TotalScore is { } total && ScoreObservation(questionnaire, scored, link, total, processed.Band, now) is { } observation)
        {
            await store.CreateIfNotExistsAsync(observation, link.PatientId, cancellationToken);
        }

        await CompleteTaskAsync(link, scored.Id!, cancellationToken);
        foreach (var flag in processed.RedFlags)
        {
            await RaiseRedFlagAsync(link, scored.Id!, flag, now, cancellationToken);
        }

        var used = await links.MarkUsedAsync(token, link.ETag, cancellationToken);
        if (used.Failure is { } failure && failure != LinkFailure.Used)
        {
            logger.LogWarning("Link {LinkId} could not be marked used: {Failure}", link.LinkId, failure);
        }

        await ResumeFollowUpAsync(client, link, scored.Id!, processed.TotalScore, now, cancellationToken);
        EngagementTelemetry.ResponsesReceived.Add(1, new KeyValuePair<string, object?>("questionnaire", link.QuestionnaireCanonical));
        logger.LogInformation("Response {ResponseId} stored for task {TaskId}; {RedFlags} red flags", scored.Id, link.TaskId, processed.RedFlags.Count);

        var body = new Parameters();
        body.Add("response", stored.Resource);
        if (processed.TotalScore is { } score)
        {
            body.Add("totalScore", new FhirDecimal(score));
        }

        if (processed.Band is { } band)
        {
            body.Add("band", new FhirString(band));
        }

        body.Add("redFlags", new Integer(processed.RedFlags.Count));
        return new CreatedResult(body, $"/api/fhir/QuestionnaireResponse/{scored.Id}");
    }

    private async Task CompleteTaskAsync(LinkContext link, string responseId, CancellationToken cancellationToken)
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

    private async Task RaiseRedFlagAsync(LinkContext link, string responseId, RaisedRedFlag flag, DateTimeOffset now, CancellationToken cancellationToken)
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
        var redFlagTaskId = "rf-" + OutreachMessage.CreateId(key)[4..];
        await recorder.RecordAsync(new EngagementEvent
        {
            Id = "red-flag-" + redFlagTaskId,
            Kind = EngagementEventKinds.RedFlagRaised,
            OccurredAt = now,
            InstanceId = link.InstanceId,
            Questionnaire = link.QuestionnaireCanonical,
            TaskId = redFlagTaskId,
        }, cancellationToken);
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

    private async Task ResumeFollowUpAsync(DurableTaskClient client, LinkContext link, string responseId, decimal? score, DateTimeOffset now, CancellationToken cancellationToken)
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
                new FollowUpResponse("questionnaire", responseId, score, now), cancellationToken);
        }
    }

    private static Provenance Provenance(QuestionnaireResponse response, LinkContext link, DateTimeOffset now) => new()
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

    private static Observation? ScoreObservation(Questionnaire questionnaire, QuestionnaireResponse response, LinkContext link, decimal total, string? band, DateTimeOffset now)
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

    /// <summary>201 with a FHIR body and a Location.</summary>
    private sealed class CreatedResult(Resource body, string location) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.Location = location;
            return FhirResults.Resource(body, StatusCodes.Status201Created).ExecuteAsync(httpContext);
        }
    }
}
