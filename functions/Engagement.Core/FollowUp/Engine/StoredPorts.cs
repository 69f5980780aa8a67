using Engagement.Fhir;
using Engagement.Intake;
using Hl7.Fhir.Model;
using Hl7.Fhir.Rest;
using Microsoft.Extensions.Logging;

namespace Engagement.FollowUp.Engine;

/// <summary>
/// Patients as the EHR last sent them (intake stores Patient resources it receives or fetches). A patient not stored
/// yet — the EHR's Encounter was processed before its Patient, or the EHR never sends Patients — is read from the
/// source's FHIR server when one is configured, and kept. Null when neither has it.
/// </summary>
public sealed class StoredPatientDirectory(
    IFhirResourceStore store, SourceRegistry sources, SourceFhirClients clients, ILogger<StoredPatientDirectory> logger) : IPatientDirectory
{
    public async Task<Patient?> FindAsync(string source, string patientId, CancellationToken cancellationToken)
    {
        if ((await store.GetAsync("Patient", patientId, cancellationToken))?.Resource is Patient stored)
        {
            return stored;
        }

        if (sources.Find(source) is not { FhirBaseUrl: not null } options)
        {
            return null;
        }

        try
        {
            using var client = await clients.CreateAsync(source, options, cancellationToken);
            if (await client!.GetAsync("Patient/" + patientId, cancellationToken) is Patient fetched && fetched.Id == patientId)
            {
                await store.PutAsync(fetched, patientId, cancellationToken);
                return fetched;
            }
        }
        catch (FhirOperationException ex)
        {
            logger.LogWarning("Patient read at {Source} failed ({StatusCode})", source, (int)ex.Status);
        }
        catch (HttpRequestException ex)
        {
            logger.LogWarning("Patient read at {Source} failed ({ExceptionType})", source, ex.GetType().Name);
        }

        return null;
    }
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
