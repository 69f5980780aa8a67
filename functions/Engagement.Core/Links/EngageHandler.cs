using Engagement.Http;
using Engagement.Measures;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Http;

namespace Engagement.Links;

/// <summary>
/// <c>GET /engage/{token}</c> (the patient's page) and <c>GET /api/engage/{token}</c> (what the page needs: the linked
/// Questionnaire, the Task and the expiry). Bad tokens: 401 (forged) or 410 (expired, revoked, used).
/// </summary>
public sealed class EngageHandler(LinkValidator validator, IQuestionnaireTitles titles, IEngagementRecorder recorder, TimeProvider time)
{
    public async Task<IResult> PageAsync(HttpRequest request, string token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var language = EngagementPage.ChooseLanguage(request);
        var validation = await validator.ValidateForViewAsync(token, cancellationToken);
        if (!validation.IsValid)
        {
            return EngagementPage.Failure(validation.Failure.Value, language);
        }

        // Counted once per link (event id = link id); the protocol and cohort come from the link's follow-up run.
        await recorder.RecordAsync(new EngagementEvent
        {
            Id = "opened-" + validation.Context.LinkId,
            Kind = EngagementEventKinds.LinkOpened,
            OccurredAt = time.GetUtcNow(),
            InstanceId = validation.Context.InstanceId,
            Questionnaire = validation.Context.QuestionnaireCanonical,
        }, cancellationToken);
        var title = await titles.FindTitleAsync(validation.Context.QuestionnaireCanonical, language, cancellationToken);
        return EngagementPage.Questionnaire(title, language);
    }

    public async Task<IResult> ContextAsync(string token, CancellationToken cancellationToken)
    {
        var validation = await validator.ValidateAsync(token, cancellationToken);
        if (!validation.IsValid)
        {
            return Refused(validation.Failure.Value);
        }

        var link = validation.Context;
        // What the patient's own page needs, nothing more: no patient id, no follow-up instance.
        return Results.Json(new EngageContext(link.QuestionnaireCanonical, "Task/" + link.TaskId, link.ExpiresAt));
    }

    /// <summary>The OperationOutcome for a refused token (API routes).</summary>
    public static IResult Refused(LinkFailure failure) => failure switch
    {
        LinkFailure.Forged => FhirResults.Unauthorized("The engagement link is not valid."),
        LinkFailure.Expired => Gone("The engagement link has expired."),
        LinkFailure.Used => Gone("The engagement link was already used to submit a response."),
        LinkFailure.Revoked => Gone("The engagement link was revoked."),
        _ => Gone("The engagement link is no longer available."),
    };

    private static IResult Gone(string diagnostics) =>
        FhirResults.Outcome(StatusCodes.Status410Gone, OperationOutcome.IssueType.Expired, diagnostics);
}

/// <summary>The JSON of <c>GET /api/engage/{token}</c>.</summary>
public sealed record EngageContext(string Questionnaire, string Task, DateTimeOffset ExpiresAt);
