using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Engagement.Fhir;
using Engagement.Http;
using Hl7.Fhir.Model;

namespace Engagement.Core.Tests.Fhir;

/// <summary>A store in memory with the table store's versioning (meta.versionId, ETag checks), for catalog tests.</summary>
internal sealed class InMemoryFhirResourceStore(TimeProvider time) : IFhirResourceStore
{
    private readonly ConcurrentDictionary<(string, string), (string Json, int Version, string? Patient)> rows = new();

    public int ListCalls { get; private set; }

    public Task<StoredResource> PutAsync(Resource resource, string? patientId, CancellationToken cancellationToken, string? ifMatch = null)
    {
        var key = (resource.TypeName, resource.Id!);
        var exists = rows.TryGetValue(key, out var row);
        if (ifMatch is not null && (!exists || ETag(row.Version) != ifMatch))
        {
            throw new Azure.RequestFailedException(412, "precondition failed");
        }

        return System.Threading.Tasks.Task.FromResult(Write(resource, patientId, exists ? row.Version + 1 : 1));
    }

    public Task<(StoredResource Stored, bool Created)> CreateIfNotExistsAsync(Resource resource, string? patientId, CancellationToken cancellationToken)
    {
        var key = (resource.TypeName, resource.Id!);
        return System.Threading.Tasks.Task.FromResult(rows.ContainsKey(key)
            ? (Read(key)!, false)
            : (Write(resource, patientId, 1), true));
    }

    public Task<StoredResource?> GetAsync(string resourceType, string id, CancellationToken cancellationToken) =>
        System.Threading.Tasks.Task.FromResult(Read((resourceType, id)));

    public Task<IReadOnlyList<StoredResource>> SearchByPatientAsync(string resourceType, string patientId, CancellationToken cancellationToken) =>
        System.Threading.Tasks.Task.FromResult<IReadOnlyList<StoredResource>>(
            [.. rows.Where(kv => kv.Key.Item1 == resourceType && kv.Value.Patient == patientId).Select(kv => Read(kv.Key)!)]);

    public Task<IReadOnlyList<StoredResource>> ListAsync(string resourceType, int max, CancellationToken cancellationToken)
    {
        ListCalls++;
        return System.Threading.Tasks.Task.FromResult<IReadOnlyList<StoredResource>>(
            [.. rows.Keys.Where(k => k.Item1 == resourceType).Take(max).Select(k => Read(k)!)]);
    }

    private static string ETag(int version) => "etag-" + version.ToString(CultureInfo.InvariantCulture);

    private StoredResource Write(Resource resource, string? patientId, int version)
    {
        resource.Meta ??= new Meta();
        resource.Meta.VersionId = version.ToString(CultureInfo.InvariantCulture);
        resource.Meta.LastUpdated = time.GetUtcNow();
        rows[(resource.TypeName, resource.Id!)] = (FhirJson.Serialize(resource), version, patientId);
        return new StoredResource(resource, ETag(version), patientId);
    }

    private StoredResource? Read((string, string) key) =>
        rows.TryGetValue(key, out var row)
            ? new StoredResource(JsonSerializer.Deserialize<Resource>(row.Json, FhirJson.Options)!, ETag(row.Version), row.Patient)
            : null;
}
