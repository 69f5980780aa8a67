using System.Security.Cryptography;
using System.Text;
using Engagement.Fhir;
using Engagement.FollowUp.Engine;
using Engagement.Hosting;
using Engagement.Http;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Outcomes;

/// <summary>
/// <c>POST /api/fhir/QuestionnaireResponse</c>: a SMART patient app (or the care team with the admin key) submits a
/// response. The same pipeline as the link submission (<see cref="ResponseRecorder"/>), bound by the token instead of
/// a link: <c>subject</c> must be the token's patient (403), the Questionnaire must be in the catalog (422),
/// <c>basedOn</c>, when present, must be one Task of that patient asking for that Questionnaire (422), not already
/// answered by another response (409). Idempotent: the stored id derives from the patient and the response's
/// <c>identifier</c> (or, without one, its Task), so a retry gets 200 with the stored response instead of a second one.
/// </summary>
public sealed class FhirResponseSubmissionHandler(
    IFhirAccessPolicy access,
    DefinitionsTerminology terminology,
    ResponseRecorder recorder,
    IFhirResourceStore store,
    IOptionsMonitor<EngagementOptions> options,
    ILogger<FhirResponseSubmissionHandler> logger)
{
    public const string Route = "fhir/QuestionnaireResponse";

    private const string ResourceType = "QuestionnaireResponse";

    public async Task<IResult> CreateAsync(HttpRequest request, DurableTaskClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);

        // Credentials and scope first, before the body is read; the patient is checked once the body names it.
        var decision = await access.AuthorizeAsync(request, ResourceType, FhirInteraction.Create, null, cancellationToken);
        if (!decision.IsAllowed)
        {
            return decision.Denial!;
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

        if (response.Subject?.Reference is not { } subject || !subject.StartsWith("Patient/", StringComparison.Ordinal) || !FhirIds.IsValid(subject["Patient/".Length..]))
        {
            return FhirResults.Unprocessable("subject must reference the patient as Patient/{id}.");
        }

        var patientId = subject["Patient/".Length..];
        decision = await access.AuthorizeAsync(request, ResourceType, FhirInteraction.Create, patientId, cancellationToken);
        if (!decision.IsAllowed)
        {
            return decision.Denial!;
        }

        if (string.IsNullOrWhiteSpace(response.Questionnaire))
        {
            return FhirResults.Unprocessable("questionnaire is required: the canonical URL of the Questionnaire answered.");
        }

        var snapshot = await terminology.RefreshAsync(cancellationToken);
        if (snapshot.Resolve<Questionnaire>(response.Questionnaire) is not { } questionnaire)
        {
            return FhirResults.Unprocessable($"The Questionnaire '{response.Questionnaire}' is not known here.");
        }

        var url = questionnaire.Url ?? response.Questionnaire.Split('|')[0];
        var canonical = questionnaire.Version is { } version ? $"{url}|{version}" : url;
        var (task, taskProblem) = await ResolveTaskAsync(response, patientId, url, cancellationToken);
        if (taskProblem is not null)
        {
            return taskProblem;
        }

        var responseId = ResponseId(patientId, response.Identifier, task?.Id);
        var target = new ResponseTarget(
            patientId,
            canonical,
            responseId,
            response.Identifier is { Value: not null } given ? given : new Identifier(ResponseRecorder.IdentifierSystem, responseId),
            task?.Id,
            task?.GroupIdentifier is { System: FollowUpIds.FollowUpIdentifierSystem, Value: { } instanceId } ? instanceId : null);

        if (task is { Status: Hl7.Fhir.Model.Task.TaskStatus.Completed } && !AnsweredBy(task, responseId))
        {
            return FhirResults.Outcome(StatusCodes.Status409Conflict, OperationOutcome.IssueType.Conflict,
                "The Task in basedOn has already been answered by another response.");
        }

        var prepared = recorder.Prepare(questionnaire, response, target);
        if (prepared.Rejection is not null)
        {
            return prepared.Rejection;
        }

        var (stored, created) = await recorder.StoreAsync(prepared.Scored!, target, cancellationToken);

        // Keyed by the response id: a retry completes whatever an interrupted first attempt left undone.
        await recorder.CompleteAsync(questionnaire, prepared, target, client, cancellationToken);
        if (!created)
        {
            logger.LogInformation("Response {ResponseId} was already stored; answered with the stored one", responseId);
        }

        return new StoredResponseResult(stored.Resource, created ? StatusCodes.Status201Created : StatusCodes.Status200OK, $"{BaseUrl(request)}/api/fhir/{ResourceType}/{responseId}");
    }

    /// <summary>The Task in <c>basedOn</c> (null when there is none), or the 422 when it is not this patient's Task for this Questionnaire.</summary>
    private async Task<(Hl7.Fhir.Model.Task? Task, IResult? Problem)> ResolveTaskAsync(QuestionnaireResponse response, string patientId, string questionnaireUrl, CancellationToken cancellationToken)
    {
        if (response.BasedOn.Count == 0)
        {
            return (null, null);
        }

        const string wrongTask = "basedOn must be one Task of this patient that asks for this Questionnaire.";
        if (response.BasedOn is not [{ Reference: { } reference }] || !reference.StartsWith("Task/", StringComparison.Ordinal) || !FhirIds.IsValid(reference["Task/".Length..]))
        {
            return (null, FhirResults.Unprocessable(wrongTask));
        }

        // The same answer for an unknown Task and another patient's: the caller learns nothing about other Tasks.
        var stored = await store.GetAsync("Task", reference["Task/".Length..], cancellationToken);
        if (stored is not { Resource: Hl7.Fhir.Model.Task task } || stored.PatientId != patientId)
        {
            return (null, FhirResults.Unprocessable(wrongTask));
        }

        var asked = task.Input.Where(i => i.Type?.Coding.Any(c => c.System == FollowUpIds.TaskCodeSystem && c.Code == "questionnaire") == true)
            .Select(i => (i.Value as Canonical)?.Value)
            .Append(task.Focus?.Reference)
            .OfType<string>()
            .Select(c => c.Split('|')[0])
            .ToList();
        return asked.Count > 0 && !asked.Contains(questionnaireUrl, StringComparer.Ordinal)
            ? (null, FhirResults.Unprocessable(wrongTask))
            : (task, null);
    }

    private static bool AnsweredBy(Hl7.Fhir.Model.Task task, string responseId) =>
        task.Output.Any(o => o.Value is ResourceReference { Reference: { } r } && r == "QuestionnaireResponse/" + responseId);

    /// <summary>Deterministic per submission: the patient plus the client's identifier, else plus the Task; else a new id.</summary>
    private static string ResponseId(string patientId, Identifier? identifier, string? taskId)
    {
        string? key = identifier is { Value: { } value } ? $"identifier|{identifier.System}|{value}" : taskId is not null ? "task|" + taskId : null;
        if (key is null)
        {
            return "qr-" + Guid.NewGuid().ToString("N");
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(patientId + "|" + key));
        return "qr-" + Convert.ToHexStringLower(hash)[..32];
    }

    private string BaseUrl(HttpRequest request) =>
        options.CurrentValue.PublicBaseUrl is { } configured
            ? configured.ToString().TrimEnd('/')
            : $"{request.Scheme}://{request.Host}{request.PathBase}".TrimEnd('/');

    private sealed class StoredResponseResult(Resource resource, int statusCode, string location) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => statusCode;

        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.Location = location;
            if (resource.Meta?.VersionId is { } version)
            {
                httpContext.Response.Headers.ETag = $"W/\"{version}\"";
            }

            return FhirResults.Resource(resource, statusCode).ExecuteAsync(httpContext);
        }
    }
}
