using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Engagement.Fhir;
using Engagement.Http;
using Engagement.Intake;
using Engagement.Preferences;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace Engagement.WriteBack;

/// <summary>
/// The resource store every feature writes through: after a CarePlan, Task, Communication, QuestionnaireResponse,
/// Observation, Flag or Consent of ours (it carries one of our identifiers) is stored for a patient, the write is asked for at each source that
/// patient came from and that accepts writes. Asking happens after the store write and in the same step, so a step
/// that fails between the two is re-run by its caller (an activity, the EHR's or patient's retry) and asks again; a
/// second ask for the same content is a no-op. With no source accepting writes this adds nothing.
/// </summary>
public sealed class WriteBackFhirResourceStore(TableFhirResourceStore inner, WriteBackStore writeBack, SourceRegistry sources, IEnumerable<IFhirResourceObserver> observers) : IFhirResourceStore
{
    /// <summary>The resource types written back. Provenance stays here (its agent and target are ours).</summary>
    public static readonly IReadOnlyList<string> Types = ["CarePlan", "Task", "Communication", "QuestionnaireResponse", "Observation", "Flag", "Consent"];

    public const string OurIdentifierPrefix = "http://engagement-functions.org/fhir/identifier/";

    public async Task<StoredResource> PutAsync(Resource resource, string? patientId, CancellationToken cancellationToken, string? ifMatch = null)
    {
        var stored = await inner.PutAsync(resource, patientId, cancellationToken, ifMatch);
        await AskAsync(stored.Resource, patientId, cancellationToken);
        await TellAsync(stored, cancellationToken);
        return stored;
    }

    public async Task<(StoredResource Stored, bool Created)> CreateIfNotExistsAsync(Resource resource, string? patientId, CancellationToken cancellationToken)
    {
        var result = await inner.CreateIfNotExistsAsync(resource, patientId, cancellationToken);
        await AskAsync(result.Stored.Resource, patientId, cancellationToken);
        await TellAsync(result.Stored, cancellationToken);
        return result;
    }

    public Task<StoredResource?> GetAsync(string resourceType, string id, CancellationToken cancellationToken) =>
        inner.GetAsync(resourceType, id, cancellationToken);

    public Task<bool> ExistsAsync(string resourceType, string id, CancellationToken cancellationToken) =>
        inner.ExistsAsync(resourceType, id, cancellationToken);

    public Task<IReadOnlyList<StoredResource>> SearchByPatientAsync(string resourceType, string patientId, CancellationToken cancellationToken) =>
        inner.SearchByPatientAsync(resourceType, patientId, cancellationToken);

    public Task<IReadOnlyList<StoredResource>> ListAsync(string resourceType, int max, CancellationToken cancellationToken) =>
        inner.ListAsync(resourceType, max, cancellationToken);

    /// <summary>Our identifier on a resource, the key of its conditional create at the EHR.</summary>
    public static Identifier? OurIdentifier(Resource resource) => resource switch
    {
        CarePlan c => c.Identifier.FirstOrDefault(IsOurs),
        Hl7.Fhir.Model.Task t => t.Identifier.FirstOrDefault(IsOurs),
        QuestionnaireResponse q => IsOurs(q.Identifier) ? q.Identifier : null,
        Observation o => o.Identifier.FirstOrDefault(IsOurs),
        Communication c => c.Identifier.FirstOrDefault(IsOurs),
        Flag f => f.Identifier.FirstOrDefault(IsOurs),
        Consent k => k.Identifier.FirstOrDefault(IsOurs),
        _ => null,
    };

    /// <summary>A hash of the content the EHR would receive (meta, which changes with every store write, left out).</summary>
    public static string ContentHash(Resource resource)
    {
        var json = JsonNode.Parse(FhirJson.SerializeToUtf8Bytes(resource))!.AsObject();
        json.Remove("meta");
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(json.ToJsonString())), 0, 12);
    }

    private static bool IsOurs(Identifier? identifier) =>
        identifier?.System?.StartsWith(OurIdentifierPrefix, StringComparison.Ordinal) == true && !string.IsNullOrEmpty(identifier.Value);

    private async Task TellAsync(StoredResource stored, CancellationToken cancellationToken)
    {
        foreach (var observer in observers)
        {
            await observer.StoredAsync(stored, cancellationToken);
        }
    }

    private async Task AskAsync(Resource resource, string? patientId, CancellationToken cancellationToken)
    {
        if (patientId is null || resource.Id is null || !Types.Contains(resource.TypeName) || OurIdentifier(resource) is null)
        {
            return;
        }

        string? hash = null;
        foreach (var source in await WritableSourcesOfAsync(patientId, cancellationToken))
        {
            hash ??= ContentHash(resource);
            await writeBack.EnqueueAsync(source, patientId, resource.TypeName, resource.Id, hash, cancellationToken);
        }
    }

    /// <summary>
    /// Asks for what the patient chose on the engagement page to be written into the EHR's Patient at each source the
    /// patient came from that may accept writes (the Patient is the EHR's: only these fields are changed there, by a
    /// version-checked read-modify-write; see <see cref="WriteBackDispatcher"/>). Called after the stored Patient
    /// was changed, in the same request, so a failure here is retried by the patient's retry.
    /// </summary>
    public async Task AskPatientPreferencesAsync(string patientId, PreferenceChange change, CancellationToken cancellationToken)
    {
        foreach (var source in await WritableSourcesOfAsync(patientId, cancellationToken))
        {
            await writeBack.EnqueuePatientPreferencesAsync(source, patientId, change, cancellationToken);
        }
    }

    private async Task<IReadOnlyList<string>> WritableSourcesOfAsync(string patientId, CancellationToken cancellationToken)
    {
        var writable = sources.Names.Where(n => sources.Find(n) is { MayWriteBack: true }).ToList();
        if (writable.Count == 0)
        {
            return [];
        }

        var patientSources = await writeBack.SourcesOfAsync(patientId, cancellationToken);
        return [.. writable.Where(n => patientSources.Contains(n.ToLowerInvariant(), StringComparer.Ordinal))];
    }
}
