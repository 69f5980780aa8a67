using System.Text.Json;
using Engagement.Fhir;
using Engagement.Http;
using Engagement.Measures;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Http;

namespace Engagement.Links;

/// <summary>
/// <c>GET /engage/{token}</c> (the patient's page) and <c>GET /api/engage/{token}</c> (what the page needs: the linked
/// Questionnaire in the patient's language, the Task and the expiry). Bad tokens: 401 (forged) or 410 (expired,
/// revoked, used); the page of a used link that is still within its lifetime shows "we already have your answers"
/// with the patient's preferences and follow-ups (<see cref="Engagement.Preferences.PreferencesHandler"/>). The language is <c>?lang=</c> (en, es) when given, else the patient's preferred
/// <c>Patient.communication</c> language when we hold the Patient, else the browser's Accept-Language.
/// </summary>
public sealed class EngageHandler(
    LinkValidator validator,
    IQuestionnaireTitles titles,
    FhirDefinitions definitions,
    IFhirResourceStore store,
    StaticAssets assets,
    IEngagementRecorder recorder,
    TimeProvider time)
{
    public async Task<IResult> PageAsync(HttpRequest request, string token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var validation = await validator.ValidateForViewAsync(token, cancellationToken);
        if (!validation.IsValid)
        {
            // A link whose one response was sent stays the patient's preferences page until it expires or is revoked.
            if (validation.Failure == LinkFailure.Used && await validator.ValidateForPreferencesAsync(token, cancellationToken) is { IsValid: true } answered)
            {
                return EngagementPage.Answered(await LanguageAsync(request, answered.Context, cancellationToken), assets);
            }

            // Nothing about the patient is looked up for a refused link: the browser's language only.
            return EngagementPage.Failure(validation.Failure.Value, EngagementPage.ChooseLanguage(request));
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
        var language = await LanguageAsync(request, validation.Context, cancellationToken);
        var title = await titles.FindTitleAsync(validation.Context.QuestionnaireCanonical, language, cancellationToken);
        return EngagementPage.Questionnaire(title, language, assets);
    }

    public async Task<IResult> ContextAsync(HttpRequest request, string token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var validation = await validator.ValidateAsync(token, cancellationToken);
        if (!validation.IsValid)
        {
            return Refused(validation.Failure.Value);
        }

        var link = validation.Context;
        var language = await LanguageAsync(request, link, cancellationToken);
        var questionnaire = await definitions.ResolveAsync<Questionnaire>(link.QuestionnaireCanonical, cancellationToken);
        JsonElement? resource = questionnaire is null
            ? null
            : JsonSerializer.SerializeToElement(QuestionnaireTranslation.WithRadioButtons(QuestionnaireTranslation.Translate(questionnaire, language)), FhirJson.Options);

        // What the patient's own page needs, nothing more: no patient id, no follow-up instance.
        return Results.Json(new EngageContext(link.QuestionnaireCanonical, "Task/" + link.TaskId, link.ExpiresAt, language, resource));
    }

    private async Task<string> LanguageAsync(HttpRequest request, LinkContext link, CancellationToken cancellationToken) =>
        PageLanguage(request, (await store.GetAsync("Patient", link.PatientId, cancellationToken))?.Resource as Patient);

    /// <summary>
    /// The page language: <c>?lang=</c> (en, es) when given, else the patient's preferred <c>Patient.communication</c>
    /// language when we hold the Patient, else the browser's Accept-Language.
    /// </summary>
    public static string PageLanguage(HttpRequest request, Patient? patient)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (EngagementPage.Supported(request.Query["lang"].ToString()) is { } asked)
        {
            return asked;
        }

        if (patient is not null)
        {
            var communication = patient.Communication.FirstOrDefault(c => c.Preferred == true) ?? patient.Communication.FirstOrDefault();
            if (communication?.Language?.Coding.Select(c => EngagementPage.Supported(c.Code)).FirstOrDefault(l => l is not null) is { } preferred)
            {
                return preferred;
            }
        }

        return EngagementPage.ChooseLanguage(request);
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

/// <summary>
/// The JSON of <c>GET /api/engage/{token}</c>: the Questionnaire canonical, the Task, the expiry, the language the page
/// shows, and the Questionnaire resource translated into it (null when the canonical is not in the catalog).
/// </summary>
public sealed record EngageContext(string Questionnaire, string Task, DateTimeOffset ExpiresAt, string Language, JsonElement? Resource);
