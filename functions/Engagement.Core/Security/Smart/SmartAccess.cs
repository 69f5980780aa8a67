using System.Diagnostics.CodeAnalysis;
using Engagement.Http;
using Microsoft.AspNetCore.Http;

namespace Engagement.Security.Smart;

/// <summary>
/// Who is calling <c>/api/fhir</c> and what they may do: the scopes of a SMART access token and its patient context,
/// or the care team's read access through <c>X-Admin-Key</c>. FHIR handlers ask it before every read, write and
/// search: <see cref="Authorize"/> for one resource, <see cref="RestrictSearch"/> to force the patient filter.
/// </summary>
public sealed class SmartAccess
{
    private const SmartInteraction ReadOnly = SmartInteraction.Read | SmartInteraction.Search;

    private SmartAccess(bool isCareTeamKey, string? issuer, string? subject, string? patientId, string? fhirUser, SmartScopes scopes)
    {
        IsCareTeamKey = isCareTeamKey;
        Issuer = issuer;
        Subject = subject;
        PatientId = patientId;
        FhirUser = fhirUser;
        Scopes = scopes;
    }

    /// <summary>The care team through <c>X-Admin-Key</c>: read and search on every resource, every patient.</summary>
    public static SmartAccess CareTeam { get; } = new(true, null, null, null, null, SmartScopes.None);

    public bool IsCareTeamKey { get; }

    public string? Issuer { get; }

    public string? Subject { get; }

    /// <summary>
    /// The patient in context (the token's <c>patient</c> claim, or its <c>fhirUser</c> when that is a Patient).
    /// When set, the caller reads and writes only this patient's resources, whatever the scopes say.
    /// </summary>
    public string? PatientId { get; }

    public string? FhirUser { get; }

    public SmartScopes Scopes { get; }

    public static SmartAccess FromToken(string issuer, string? subject, string? patientClaim, string? fhirUser, SmartScopes scopes)
    {
        ArgumentNullException.ThrowIfNull(scopes);
        var patient = !string.IsNullOrWhiteSpace(patientClaim) ? NormalizePatientId(patientClaim) : PatientIdFromFhirUser(fhirUser);
        return new SmartAccess(false, issuer, subject, patient, fhirUser, scopes);
    }

    /// <summary>Whether the caller's scopes allow the interaction on the resource type (patient scopes need a patient in context).</summary>
    public bool Allows(string resourceType, SmartInteraction interaction)
    {
        if (IsCareTeamKey)
        {
            return interaction != SmartInteraction.None && (ReadOnly & interaction) == interaction;
        }

        return Scopes.Allows(resourceType, interaction, SmartScopeContext.User)
            || Scopes.Allows(resourceType, interaction, SmartScopeContext.System)
            || (PatientId is not null && Scopes.Allows(resourceType, interaction, SmartScopeContext.Patient));
    }

    /// <summary>
    /// Whether the caller may touch this patient's resources: the care team and user/system-level tokens without a
    /// patient context may; a token with a patient context only for that patient; patient scopes without a patient never.
    /// </summary>
    public bool CanAccess(string? patientId)
    {
        if (string.IsNullOrWhiteSpace(patientId))
        {
            return false;
        }

        if (IsCareTeamKey)
        {
            return true;
        }

        if (PatientId is not null)
        {
            return string.Equals(PatientId, NormalizePatientId(patientId), StringComparison.Ordinal);
        }

        return Scopes.Scopes.Any(s => s.Context is SmartScopeContext.User or SmartScopeContext.System);
    }

    /// <summary>
    /// Null when the interaction on the resource (belonging to <paramref name="patientId"/>, or to no patient) is
    /// allowed; otherwise the 403 OperationOutcome to return.
    /// </summary>
    public IResult? Authorize(string resourceType, SmartInteraction interaction, string? patientId = null)
    {
        ArgumentNullException.ThrowIfNull(resourceType);
        if (!Allows(resourceType, interaction))
        {
            return FhirResults.Forbidden($"The access token's scopes do not allow {interaction} on {resourceType}.");
        }

        return patientId is null || CanAccess(patientId)
            ? null
            : FhirResults.Forbidden("The access token does not allow access to this patient's resources.");
    }

    /// <summary>
    /// The patient filter a search must apply. With a patient in context it is always that patient: a search without
    /// <c>patient</c> is restricted to them, one naming another patient is refused (403). Without a patient context
    /// (care team, user or system level) the requested filter, which may be null, stands.
    /// </summary>
    public bool RestrictSearch(
        string resourceType,
        string? requestedPatient,
        out string? patientFilter,
        [NotNullWhen(false)] out IResult? denied)
    {
        patientFilter = string.IsNullOrWhiteSpace(requestedPatient) ? null : NormalizePatientId(requestedPatient);
        denied = Authorize(resourceType, SmartInteraction.Search);
        if (denied is not null)
        {
            return false;
        }

        if (IsCareTeamKey || PatientId is null)
        {
            // Authorize passed without a patient context: only care-team, user or system scopes get here.
            return true;
        }

        if (patientFilter is not null && !string.Equals(patientFilter, PatientId, StringComparison.Ordinal))
        {
            denied = FhirResults.Forbidden("The access token does not allow searching another patient's resources.");
            return false;
        }

        patientFilter = PatientId;
        return true;
    }

    /// <summary><c>123</c>, <c>Patient/123</c> or <c>https://ehr/fhir/Patient/123</c> → <c>123</c>.</summary>
    public static string NormalizePatientId(string reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var value = reference.Trim();
        var marker = value.LastIndexOf("Patient/", StringComparison.Ordinal);
        if (marker >= 0 && (marker == 0 || value[marker - 1] == '/'))
        {
            value = value[(marker + "Patient/".Length)..];
            var history = value.IndexOf('/', StringComparison.Ordinal);
            value = history >= 0 ? value[..history] : value;
        }

        return value;
    }

    private static string? PatientIdFromFhirUser(string? fhirUser)
    {
        if (string.IsNullOrWhiteSpace(fhirUser))
        {
            return null;
        }

        var marker = fhirUser.LastIndexOf("Patient/", StringComparison.Ordinal);
        return marker >= 0 && (marker == 0 || fhirUser[marker - 1] == '/') ? NormalizePatientId(fhirUser) : null;
    }
}
