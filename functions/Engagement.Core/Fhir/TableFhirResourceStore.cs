using System.Globalization;
using System.Net;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Engagement.Http;
using Engagement.Storage;
using Engagement.Storage.AzureStorage;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Fhir;

/// <summary>
/// Table Storage layout (<c>FhirResources</c>): partition = resource type, row = id; the JSON in <c>Json</c> (or in
/// blob <c>fhir-resources/{type}/{id}.json</c> when over the table's property limit); <c>Patient</c> for search.
/// A second table, <c>FhirResourcesByPatient</c> (partition = type|patient, row = id), indexes by patient; its row is
/// written before the resource's, so a resource row never lacks its index row (an index row whose resource write failed
/// is harmless: search checks the resource's patient).
/// <para>
/// What this process last wrote or read of a row (version, ETag, patient) is remembered, bounded: a replace then needs
/// no read for the version, and no index write when the patient is unchanged — one storage call instead of three. The
/// replace is ETag-checked against what was remembered, so another instance's write since shows as a 412, after which
/// the row is read again.
/// </para>
/// </summary>
public sealed class TableFhirResourceStore(StorageClients storage, TimeProvider time) : IFhirResourceStore
{
    private const string TableName = "FhirResources";
    private const string IndexTableName = "FhirResourcesByPatient";
    private const string ContainerName = "fhir-resources";
    private const int InlineLimit = 30_000; // characters; a table string property holds 32K UTF-16 chars

    private readonly TableClient table = storage.Tables.GetTableClient(TableName);
    private readonly TableClient index = storage.Tables.GetTableClient(IndexTableName);
    private readonly RecentMap<(string Type, string Id), Seen> seen = new(SeenCapacity);
    private volatile bool ready;

    /// <summary>Most rows remembered; beyond that the memory starts over.</summary>
    public const int SeenCapacity = 50_000;

    /// <summary>A row as this process last wrote or read it.</summary>
    private readonly record struct Seen(int Version, ETag ETag, string? PatientId);

    public async Task<StoredResource> PutAsync(Resource resource, string? patientId, CancellationToken cancellationToken, string? ifMatch = null)
    {
        ArgumentNullException.ThrowIfNull(resource);
        await EnsureAsync(cancellationToken);
        var key = (resource.TypeName, RequireId(resource));
        var expected = ifMatch is null ? (ETag?)null : new ETag(ifMatch);
        for (var attempt = 0; ; attempt++)
        {
            // Every write is ETag-checked against the row it was based on, so each gets a version of its own; a write that
            // lost the race to another one is based on the new row and tried again (unless the caller gave If-Match).
            var retry = attempt < 20 && expected is null;
            try
            {
                if (seen.TryGet(key, out var last) && (expected is null || last.ETag == expected))
                {
                    return await ReplaceAsync(resource, patientId, last.Version + 1, last.ETag, last.PatientId, cancellationToken);
                }

                var existing = await table.GetEntityIfExistsAsync<TableEntity>(resource.TypeName, key.Item2, ["Version", "Patient"], cancellationToken);
                if (existing.HasValue)
                {
                    var row = existing.Value!;
                    return await ReplaceAsync(resource, patientId, (row.GetInt32("Version") ?? 0) + 1, expected ?? row.ETag, row.GetString("Patient"), cancellationToken);
                }

                if (expected is { } etag)
                {
                    throw new RequestFailedException((int)HttpStatusCode.PreconditionFailed, $"{resource.TypeName}/{key.Item2} does not exist; If-Match {etag} cannot match.");
                }

                await IndexAsync(resource, patientId, cancellationToken);
                var response = await table.AddEntityAsync(await ToEntityAsync(resource, patientId, 1, cancellationToken), cancellationToken);
                return Remember(resource, 1, response, patientId);
            }
            catch (RequestFailedException ex) when (ex.Status is (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.NotFound or (int)HttpStatusCode.Conflict)
            {
                seen.Remove(key);
                if (!retry)
                {
                    throw;
                }
            }
        }
    }

    /// <summary>Replaces the row (ETag-checked); indexes first unless the row already has this patient.</summary>
    private async Task<StoredResource> ReplaceAsync(Resource resource, string? patientId, int version, ETag etag, string? storedPatientId, CancellationToken cancellationToken)
    {
        if (!string.Equals(storedPatientId, patientId, StringComparison.Ordinal))
        {
            await IndexAsync(resource, patientId, cancellationToken);
        }

        var entity = await ToEntityAsync(resource, patientId, version, cancellationToken);
        var response = await table.UpdateEntityAsync(entity, etag, TableUpdateMode.Replace, cancellationToken);
        return Remember(resource, version, response, patientId);
    }

    private StoredResource Remember(Resource resource, int version, Response response, string? patientId)
    {
        var etag = response.Headers.ETag;
        if (etag is { } known)
        {
            Remember((resource.TypeName, resource.Id!), new Seen(version, known, patientId));
        }

        return new StoredResource(resource, etag?.ToString() ?? string.Empty, patientId);
    }

    private void Remember((string Type, string Id) key, Seen row)
    {
        seen.Set(key, row);
    }

    /// <summary>Remembers a row read from the table (a read may select only Version and Patient).</summary>
    private void Remember(string resourceType, string id, TableEntity row) =>
        Remember((resourceType, id), new Seen(row.GetInt32("Version") ?? 1, row.ETag, row.GetString("Patient")));

    public Task<bool> ExistsAsync(string resourceType, string id, CancellationToken cancellationToken) =>
        seen.Contains((resourceType, id)) ? Task.FromResult(true) : ExistsInTableAsync(resourceType, id, cancellationToken);

    private async Task<bool> ExistsInTableAsync(string resourceType, string id, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(resourceType, id, ["Version", "Patient"], cancellationToken);
        if (row.HasValue)
        {
            Remember(resourceType, id, row.Value!);
        }

        return row.HasValue;
    }

    public async Task<(StoredResource Stored, bool Created)> CreateIfNotExistsAsync(Resource resource, string? patientId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        await EnsureAsync(cancellationToken);
        var entity = await ToEntityAsync(resource, patientId, 1, cancellationToken);
        try
        {
            await IndexAsync(resource, patientId, cancellationToken);
            var response = await table.AddEntityAsync(entity, cancellationToken);
            return (Remember(resource, 1, response, patientId), true);
        }
        catch (RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.Conflict)
        {
            var stored = await GetAsync(resource.TypeName, RequireId(resource), cancellationToken)
                ?? throw new InvalidOperationException("Conflict on create but the resource is gone.");
            await IndexAsync(stored.Resource, stored.PatientId, cancellationToken); // an earlier attempt may have died before indexing
            return (stored, false);
        }
    }

    public async Task<StoredResource?> GetAsync(string resourceType, string id, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(resourceType, id, cancellationToken: cancellationToken);
        if (!row.HasValue)
        {
            return null;
        }

        Remember(resourceType, id, row.Value!);
        return await FromEntityAsync(row.Value!, cancellationToken);
    }

    public async Task<IReadOnlyList<StoredResource>> SearchByPatientAsync(string resourceType, string patientId, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken);
        var partition = IndexPartition(resourceType, patientId);
        var results = new List<StoredResource>();
        await foreach (var row in index.QueryAsync<TableEntity>(e => e.PartitionKey == partition, cancellationToken: cancellationToken))
        {
            if (await GetAsync(resourceType, row.RowKey, cancellationToken) is { } stored && stored.PatientId == patientId)
            {
                results.Add(stored);
            }
        }

        return results.OrderByDescending(r => r.Resource.Meta?.LastUpdated).ToList();
    }

    public async Task<IReadOnlyList<StoredResource>> ListAsync(string resourceType, int max, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken);
        var results = new List<StoredResource>();
        await foreach (var row in table.QueryAsync<TableEntity>(e => e.PartitionKey == resourceType, cancellationToken: cancellationToken))
        {
            results.Add(await FromEntityAsync(row, cancellationToken));
            if (results.Count >= max)
            {
                break;
            }
        }

        return results;
    }

    private static string RequireId(Resource resource) =>
        string.IsNullOrEmpty(resource.Id) ? throw new ArgumentException("The resource needs an id.", nameof(resource)) : resource.Id;

    private static string IndexPartition(string resourceType, string patientId) => $"{resourceType}|{patientId}";

    private async Task IndexAsync(Resource resource, string? patientId, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrEmpty(patientId))
        {
            await index.UpsertEntityAsync(new TableEntity(IndexPartition(resource.TypeName, patientId), resource.Id), TableUpdateMode.Replace, cancellationToken);
        }
    }

    private async Task<TableEntity> ToEntityAsync(Resource resource, string? patientId, int version, CancellationToken cancellationToken)
    {
        resource.Meta ??= new Meta();
        resource.Meta.VersionId = version.ToString(CultureInfo.InvariantCulture);
        resource.Meta.LastUpdated = time.GetUtcNow();
        var json = FhirJson.Serialize(resource);
        var entity = new TableEntity(resource.TypeName, RequireId(resource))
        {
            ["Version"] = version,
            ["Patient"] = patientId,
        };
        if (json.Length <= InlineLimit)
        {
            entity["Json"] = json;
        }
        else
        {
            var blobName = $"{resource.TypeName}/{resource.Id}.json";
            await storage.Blobs.GetBlobContainerClient(ContainerName).GetBlobClient(blobName)
                .UploadAsync(BinaryData.FromString(json), overwrite: true, cancellationToken);
            entity["Blob"] = blobName;
        }

        return entity;
    }

    private async Task<StoredResource> FromEntityAsync(TableEntity row, CancellationToken cancellationToken)
    {
        var json = row.GetString("Json");
        if (json is null && row.GetString("Blob") is { } blobName)
        {
            var content = await storage.Blobs.GetBlobContainerClient(ContainerName).GetBlobClient(blobName).DownloadContentAsync(cancellationToken);
            json = content.Value.Content.ToString();
        }

        var resource = JsonSerializer.Deserialize<Resource>(json!, FhirJson.Options)!;
        return new StoredResource(resource, row.ETag.ToString(), row.GetString("Patient"));
    }

    private async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (ready)
        {
            return;
        }

        await Task.WhenAll(
            table.CreateIfNotExistsAsync(cancellationToken),
            index.CreateIfNotExistsAsync(cancellationToken),
            storage.Blobs.GetBlobContainerClient(ContainerName).CreateIfNotExistsAsync(cancellationToken: cancellationToken));
        ready = true;
    }
}
