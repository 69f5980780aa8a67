using Azure;
using Azure.Data.Tables;
using Engagement.Storage.AzureStorage;

namespace Engagement.Links.AzureStorage;

/// <summary>
/// Link records in the <c>Links</c> table: PartitionKey = link id, RowKey = <c>link</c>. Updates are ETag-conditional
/// replaces, so of two concurrent submissions exactly one can mark a link used.
/// </summary>
public sealed class TableLinkStore(StorageClients storage) : ILinkStore
{
    public const string TableName = "Links";
    private const string RowKey = "link";
    private volatile bool tableExists;

    public async Task CreateAsync(LinkRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var table = await TableAsync(cancellationToken);
        var response = await table.AddEntityAsync(ToEntity(record), cancellationToken);
        record.ETag = response.Headers.ETag?.ToString();
    }

    public async Task<LinkRecord?> GetAsync(string linkId, CancellationToken cancellationToken)
    {
        var table = await TableAsync(cancellationToken);
        var response = await table.GetEntityIfExistsAsync<TableEntity>(linkId, RowKey, cancellationToken: cancellationToken);
        return response.HasValue && response.Value is { } entity ? FromEntity(entity) : null;
    }

    public async Task<bool> TryReplaceAsync(LinkRecord record, string ifMatch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var table = await TableAsync(cancellationToken);
        try
        {
            var response = await table.UpdateEntityAsync(ToEntity(record), new ETag(ifMatch), TableUpdateMode.Replace, cancellationToken);
            record.ETag = response.Headers.ETag?.ToString();
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 412 or 404)
        {
            return false;
        }
    }

    private async Task<TableClient> TableAsync(CancellationToken cancellationToken)
    {
        var table = storage.Tables.GetTableClient(TableName);
        if (!tableExists)
        {
            // Idempotent: concurrent first calls may each ask; the table is created once.
            await table.CreateIfNotExistsAsync(cancellationToken);
            tableExists = true;
        }

        return table;
    }

    private static TableEntity ToEntity(LinkRecord r) => new(r.LinkId, RowKey)
    {
        ["PatientId"] = r.PatientId,
        ["TaskId"] = r.TaskId,
        ["QuestionnaireCanonical"] = r.QuestionnaireCanonical,
        ["InstanceId"] = r.InstanceId,
        ["KeyId"] = r.KeyId,
        ["IssuedAt"] = r.IssuedAt,
        ["ExpiresAt"] = r.ExpiresAt,
        ["OpenCount"] = r.OpenCount,
        ["FirstOpenedAt"] = r.FirstOpenedAt,
        ["LastOpenedAt"] = r.LastOpenedAt,
        ["UsedAt"] = r.UsedAt,
        ["RevokedAt"] = r.RevokedAt,
    };

    private static LinkRecord FromEntity(TableEntity e) => new()
    {
        LinkId = e.PartitionKey,
        PatientId = e.GetString("PatientId") ?? string.Empty,
        TaskId = e.GetString("TaskId") ?? string.Empty,
        QuestionnaireCanonical = e.GetString("QuestionnaireCanonical") ?? string.Empty,
        InstanceId = e.GetString("InstanceId") ?? string.Empty,
        KeyId = e.GetString("KeyId") ?? string.Empty,
        IssuedAt = e.GetDateTimeOffset("IssuedAt") ?? DateTimeOffset.MinValue,
        // A record without an expiry is treated as expired rather than as eternal.
        ExpiresAt = e.GetDateTimeOffset("ExpiresAt") ?? DateTimeOffset.MinValue,
        OpenCount = e.GetInt32("OpenCount") ?? 0,
        FirstOpenedAt = e.GetDateTimeOffset("FirstOpenedAt"),
        LastOpenedAt = e.GetDateTimeOffset("LastOpenedAt"),
        UsedAt = e.GetDateTimeOffset("UsedAt"),
        RevokedAt = e.GetDateTimeOffset("RevokedAt"),
        ETag = e.ETag.ToString(),
    };
}
