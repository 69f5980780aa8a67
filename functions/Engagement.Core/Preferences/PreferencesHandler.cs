using Engagement.Fhir;
using Engagement.FollowUp;
using Engagement.FollowUp.Engine;
using Engagement.Http;
using Engagement.Links;
using Engagement.Outreach;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Engagement.Preferences;

/// <summary>
/// The patient's own preferences and follow-ups through their engagement link (the token is the only credential; it
/// binds the patient): <c>GET</c> / <c>PUT /api/engage/{token}/preferences</c> and
/// <c>GET /api/engage/{token}/overview</c>. Unlike submission, these keep working after the link's one response was
/// sent; forged (401), unknown, revoked or expired links (410) are refused as on every engage route.
/// </summary>
public sealed class PreferencesHandler(
    LinkValidator validator,
    IFhirResourceStore store,
    PatientPreferenceUpdater updater,
    EngagementOverview overview,
    MessageTemplates templates,
    IOptions<PreferenceDefaults> defaults)
{
    public const long MaxBodyBytes = 4 * 1024;

    public async Task<IResult> GetAsync(string token, CancellationToken cancellationToken)
    {
        var validation = await validator.ValidateForPreferencesAsync(token, cancellationToken);
        if (!validation.IsValid)
        {
            return EngageHandler.Refused(validation.Failure.Value);
        }

        var patient = await PatientAsync(validation.Context.PatientId, cancellationToken);
        return Results.Json(Body(patient));
    }

    public async Task<IResult> PutAsync(HttpRequest request, string token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var validation = await validator.ValidateForPreferencesAsync(token, cancellationToken);
        if (!validation.IsValid)
        {
            return EngageHandler.Refused(validation.Failure.Value);
        }

        var (body, refusal) = await JsonRequest.ReadAsync(request, MaxBodyBytes, cancellationToken);
        if (refusal is not null)
        {
            return refusal;
        }

        var (change, malformed, invalid) = PreferenceChange.Parse(body!, templates.Languages);
        if (malformed is not null)
        {
            return FhirResults.BadRequest(malformed);
        }

        if (invalid is not null)
        {
            return FhirResults.Outcome(StatusCodes.Status422UnprocessableEntity, OperationOutcome.IssueType.Value, invalid);
        }

        var update = await updater.UpdatePatientPreferencesAsync(validation.Context.PatientId, change!, cancellationToken);
        if (update.PatientUnknown)
        {
            return FhirResults.NotFound("We do not have your contact details yet, so there are no preferences to change. Please try again later.");
        }

        if (update.Problem is { } problem)
        {
            return FhirResults.Outcome(StatusCodes.Status422UnprocessableEntity, OperationOutcome.IssueType.Value, problem);
        }

        return Results.Json(Body(update.Patient));
    }

    public async Task<IResult> OverviewAsync(HttpRequest request, string token, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var validation = await validator.ValidateForPreferencesAsync(token, cancellationToken);
        if (!validation.IsValid)
        {
            return EngageHandler.Refused(validation.Failure.Value);
        }

        var patientId = validation.Context.PatientId;
        var patient = await PatientAsync(patientId, cancellationToken);
        var language = EngageHandler.PageLanguage(request, patient);
        var zone = PatientPreferences.From(patient ?? new Patient(), defaults.Value).TimeZone;
        return Results.Json(await overview.BuildAsync(patientId, language, zone, cancellationToken));
    }

    private async Task<Patient?> PatientAsync(string patientId, CancellationToken cancellationToken) =>
        (await store.GetAsync("Patient", patientId, cancellationToken))?.Resource as Patient;

    /// <summary>What the page shows and may change; no telecom values, names or ids.</summary>
    private PreferencesBody Body(Patient? patient)
    {
        var preferences = PatientPreferences.From(patient ?? new Patient(), defaults.Value);
        var available = patient is null ? [] : PreferenceChange.AvailableChannels(patient);
        return new PreferencesBody(
            Known: patient is not null,
            // The channel the next message will use: the preferred one the patient has an address for, else the fallback.
            Channel: SendOutreachActivity.ChooseChannel(patient, preferences).Channel,
            Channels: available,
            Language: templates.ResolveLanguage(preferences.Language),
            Languages: [.. templates.Languages.Select(l => l.ToLowerInvariant()).Order(StringComparer.Ordinal)],
            ContactWindow: new WindowBody(preferences.ContactWindow.Start.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture), preferences.ContactWindow.End.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture)),
            TimeZone: preferences.TimeZone.Id);
    }

}

/// <summary>
/// The JSON of <c>GET</c>/<c>PUT /api/engage/{token}/preferences</c>. <c>known</c> is false while we hold no Patient
/// for the link's patient (nothing can be changed yet). <c>channel</c> is the one the next message will use.
/// </summary>
public sealed record PreferencesBody(bool Known, string? Channel, IReadOnlyList<string> Channels, string Language, IReadOnlyList<string> Languages, WindowBody ContactWindow, string TimeZone);

/// <summary>A contact window as local times <c>HH:mm</c> in the patient's time zone.</summary>
public sealed record WindowBody(string Start, string End);
