using Engagement.Fhir;
using Hl7.Fhir.Model;

namespace Engagement.FollowUp.Engine;

/// <summary>Patients as the EHR last sent them (intake stores Patient resources it receives or fetches).</summary>
public sealed class StoredPatientDirectory(IFhirResourceStore store) : IPatientDirectory
{
    public async Task<Patient?> FindAsync(string source, string patientId, CancellationToken cancellationToken) =>
        (await store.GetAsync("Patient", patientId, cancellationToken))?.Resource as Patient;
}

/// <summary>
/// The patient opted out when an active Consent for them denies outreach (<c>provision.type = deny</c>): stored by
/// the two-way messaging feature on STOP, or by the EHR.
/// </summary>
public sealed class StoredOutreachConsent(IFhirResourceStore store) : IOutreachConsent
{
    public async Task<bool> IsOptedOutAsync(string patientId, CancellationToken cancellationToken)
    {
        var consents = await store.SearchByPatientAsync("Consent", patientId, cancellationToken);
        return consents.Select(c => c.Resource).OfType<Consent>()
            .OrderByDescending(c => c.DateTimeElement?.ToDateTimeOffset(TimeSpan.Zero) ?? c.Meta?.LastUpdated)
            .FirstOrDefault(c => c.Status is Consent.ConsentState.Active or Consent.ConsentState.Inactive) is { Status: Consent.ConsentState.Active } latest
            && latest.Provision?.Type == Consent.ConsentProvisionType.Deny;
    }
}
