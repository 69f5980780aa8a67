using System.Text.Json;
using Engagement.Fhir;
using Engagement.Http;
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

/// <summary>
/// Shipped protocols (<c>fhir-profiles/PlanDefinition-*.json</c> beside the binaries, ActivityDefinitions resolved
/// from the same folder) plus PlanDefinitions added at run time through the FHIR store; stored ones replace shipped
/// ones with the same id. Re-read at most every few seconds so instances converge after a PUT.
/// </summary>
public sealed class StoredProtocolCatalog(IFhirResourceStore store, TimeProvider time) : IProtocolCatalog, IDisposable
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(3);
    private readonly SemaphoreSlim gate = new(1, 1);
    private (DateTimeOffset At, IReadOnlyList<ProtocolDefinition> Protocols)? cache;

    public async Task<IReadOnlyList<ProtocolDefinition>> GetProtocolsAsync(CancellationToken cancellationToken)
    {
        if (cache is { } hit && time.GetUtcNow() - hit.At < Ttl)
        {
            return hit.Protocols;
        }

        await gate.WaitAsync(cancellationToken);
        try
        {
            var shipped = ReadShipped<PlanDefinition>("PlanDefinition");
            var activityDefinitions = ReadShipped<ActivityDefinition>("ActivityDefinition")
                .Concat((await store.ListAsync("ActivityDefinition", 500, cancellationToken)).Select(s => (ActivityDefinition)s.Resource))
                .Where(a => a.Url is not null)
                .GroupBy(a => a.Url!).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
            var stored = (await store.ListAsync("PlanDefinition", 500, cancellationToken)).Select(s => (PlanDefinition)s.Resource).ToList();
            var plans = shipped.Where(p => stored.All(s => s.Id != p.Id)).Concat(stored);
            var protocols = plans
                .Where(p => p.Status == PublicationStatus.Active)
                .Select(p => ProtocolDefinition.FromPlanDefinition(p, url => activityDefinitions.GetValueOrDefault(url.Split('|')[0])).Protocol)
                .OfType<ProtocolDefinition>()
                .ToList();
            cache = (time.GetUtcNow(), protocols);
            return protocols;
        }
        finally
        {
            gate.Release();
        }
    }

    public void Dispose() => gate.Dispose();

    /// <summary>Forget the cache (after a PUT on this instance).</summary>
    public void Invalidate() => cache = null;

    private static List<T> ReadShipped<T>(string type)
        where T : Resource
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "fhir-profiles");
        return Directory.Exists(folder)
            ? Directory.EnumerateFiles(folder, type + "-*.json").Select(f => JsonSerializer.Deserialize<Resource>(File.ReadAllText(f), FhirJson.Options)).OfType<T>().ToList()
            : [];
    }
}
