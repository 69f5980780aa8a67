using Hl7.Fhir.Model;

namespace Engagement.Fhir;

/// <summary>
/// The FHIR resources the engine owns (Task, CarePlan, Communication, QuestionnaireResponse, Observation, Flag,
/// Consent, and definitions added at run time), stored by type and id, findable by patient.
/// Writes are idempotent: putting the same id again replaces it (with an optional ETag check).
/// </summary>
public interface IFhirResourceStore
{
    /// <summary>Creates or replaces <paramref name="resource"/> (its <c>id</c> is required). Sets meta.versionId and lastUpdated.</summary>
    Task<StoredResource> PutAsync(Resource resource, string? patientId, CancellationToken cancellationToken, string? ifMatch = null);

    /// <summary>Creates unless a resource with that id exists; returns the stored one either way.</summary>
    Task<(StoredResource Stored, bool Created)> CreateIfNotExistsAsync(Resource resource, string? patientId, CancellationToken cancellationToken);

    Task<StoredResource?> GetAsync(string resourceType, string id, CancellationToken cancellationToken);

    /// <summary>Whether a resource with that id is stored (a store may answer from what it has seen, without a read).</summary>
    async Task<bool> ExistsAsync(string resourceType, string id, CancellationToken cancellationToken) =>
        await GetAsync(resourceType, id, cancellationToken) is not null;

    /// <summary>All resources of a type for one patient (newest first).</summary>
    Task<IReadOnlyList<StoredResource>> SearchByPatientAsync(string resourceType, string patientId, CancellationToken cancellationToken);

    /// <summary>All resources of a type (definitions; bounded by <paramref name="max"/>).</summary>
    Task<IReadOnlyList<StoredResource>> ListAsync(string resourceType, int max, CancellationToken cancellationToken);
}

/// <summary>A stored resource with its storage version (for conditional updates) and patient.</summary>
public sealed record StoredResource(Resource Resource, string ETag, string? PatientId);
