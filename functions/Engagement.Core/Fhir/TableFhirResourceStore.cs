using System.Globalization;
using System.Net;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Engagement.Http;
using Engagement.Storage.AzureStorage;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Fhir;

/// <summary>
/// Table Storage layout (<c>FhirResources</c>): partition = resource type, row = id; the JSON in <c>Json</c> (or in
/// blob <c>fhir-resources/{type}/{id}.json</c> when over the table's property limit); <c>Patient</c> for search.
/// A second table, <c>FhirResourcesByPatient</c> (partition = type|patient, row = id), indexes by patient.
/// </summary>
public sealed class TableFhirResourceStore(StorageClients storage, TimeProvider time) : IFhirResourceStore
{
    private const string TableName = "FhirResources";
    private const string IndexTableName = "FhirResourcesByPatient";
    private const string ContainerName = "fhir-resources";
    private const int InlineLimit = 30_000; // characters; a table string property holds 32K UTF-16 chars

    private readonly TableClient table = storage.Tables.GetTableClient(TableName);
    private readonly TableClient index = storage.Tables.GetTableClient(IndexTableName);
    private volatile bool ready;

    public async Task<StoredResource> PutAsync(Resource resource, string? patientId, CancellationToken cancellationToken, string? ifMatch = null)
    {
        ArgumentNullException.ThrowIfNull(resource);
        await EnsureAsync(cancellationToken);
        var existing = await table.GetEntityIfExistsAsync<TableEntity>(resource.TypeName, RequireId(resource), ["Version"], cancellationToken);
        var version = existing.HasValue ? (existing.Value!.GetInt32("Version") ?? 0) + 1 : 1;
        var entity = await ToEntityAsync(resource, patientId, version, cancellationToken);
        var etag = ifMatch is not null ? new ETag(ifMatch) : ETag.All;
        Response response = existing.HasValue || ifMatch is not null
            ? await table.UpdateEntityAsync(entity, etag, TableUpdateMode.Replace, cancellationToken)
            : await table.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken);
        await IndexAsync(resource, patientId, cancellationToken);
        return new StoredResource(resource, response.Headers.ETag?.ToString() ?? string.Empty, patientId);
    }

    public async Task<(StoredResource Stored, bool Created)> CreateIfNotExistsAsync(Resource resource, string? patientId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        await EnsureAsync(cancellationToken);
        var entity = await ToEntityAsync(resource, patientId, 1, cancellationToken);
        try
        {
            var response = await table.AddEntityAsync(entity, cancellationToken);
            await IndexAsync(resource, patientId, cancellationToken);
            return (new StoredResource(resource, response.Headers.ETag?.ToString() ?? string.Empty, patientId), true);
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
        return row.HasValue ? await FromEntityAsync(row.Value!, cancellationToken) : null;
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
