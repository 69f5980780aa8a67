using Engagement.Fhir;
using Engagement.Http;
using Engagement.Links;
using Engagement.Telemetry;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
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
    ResponseRecorder recorder,
    TimeProvider time,
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
        var owner = new ResponseOwner(link.PatientId, link.TaskId, link.InstanceId);
        await recorder.RecordAsync(questionnaire, scored, processed, owner, "questionnaire", now, client, cancellationToken);
        var used = await links.MarkUsedAsync(token, link.ETag, cancellationToken);
        if (used.Failure is { } failure && failure != LinkFailure.Used)
        {
            logger.LogWarning("Link {LinkId} could not be marked used: {Failure}", link.LinkId, failure);
        }

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
