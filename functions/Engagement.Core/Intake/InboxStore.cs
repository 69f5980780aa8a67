using System.Net;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Options;

namespace Engagement.Intake;

public static class InboxKinds
{
    public const string Notification = "notification";
    public const string Ping = "ping";
    public const string RestHookPut = "rest-hook-put";
    public const string RestHookDelete = "rest-hook-delete";
    public const string EventGrid = "event-grid";
}

/// <summary>An acknowledged delivery as stored: what it was, its key, and where its body is.</summary>
public sealed record InboxItem(
    string Source,
    string Key,
    string Kind,
    DateTimeOffset ReceivedAt,
    bool Processed,
    string? ResourceType,
    string? ResourceId,
    string? VersionId,
    string? EventKind,
    byte[]? InlineBody,
    string? BodyBlob);

/// <summary>
/// The inbox (<c>{prefix}Inbox</c>): one row per acknowledged delivery, partition = source, row = the deterministic
/// dedupe key, so the insert itself detects a duplicate. Bodies up to <see cref="InlineLimit"/> bytes are a binary
/// property; larger ones go to the <c>{prefix}-inbox</c> container first, so a row never points at a missing blob.
/// </summary>
public sealed class InboxStore
{
    public const int InlineLimit = 60 * 1024;
    public const string Pending = "Pending";
    public const string Processed = "Processed";

    private readonly TableClient table;
    private readonly BlobContainerClient container;
    private volatile bool tableReady;
    private volatile bool containerReady;

    public InboxStore(StorageClients storage, IOptions<IntakeOptions> options)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(options);
        table = storage.Tables.GetTableClient(options.Value.InboxTable);
        container = storage.Blobs.GetBlobContainerClient(options.Value.ContainerName);
    }

    /// <summary>Stores the delivery unless its key is already there. False for a duplicate. Throws when storage fails.</summary>
    public async Task<bool> AddAsync(InboxItem item, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(item);
        await EnsureTableAsync(cancellationToken);
        var entity = new TableEntity(item.Source, item.Key)
        {
            ["Kind"] = item.Kind,
            ["Status"] = Pending,
            ["ReceivedAt"] = item.ReceivedAt,
            ["ResourceType"] = item.ResourceType,
            ["ResourceId"] = item.ResourceId,
            ["VersionId"] = item.VersionId,
            ["EventKind"] = item.EventKind,
        };
        if (body.Length <= InlineLimit)
        {
            entity["Body"] = body.ToArray();
        }
        else
        {
            if (await table.GetEntityIfExistsAsync<TableEntity>(item.Source, item.Key, ["Kind"], cancellationToken) is { HasValue: true })
            {
                return false;
            }

            var blobName = $"{item.Source.ToLowerInvariant()}/{item.Key}.json";
            await EnsureContainerAsync(cancellationToken);
            await container.GetBlobClient(blobName).UploadAsync(new BinaryData(body), overwrite: true, cancellationToken);
            entity["BodyBlob"] = blobName;
        }

        try
        {
            await table.AddEntityAsync(entity, cancellationToken);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.Conflict)
        {
            return false;
        }
    }

    public async Task<InboxItem?> GetAsync(string source, string key, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(source, key, cancellationToken: cancellationToken);
        return row.HasValue ? ToItem(row.Value!) : null;
    }

    public async Task<byte[]> ReadBodyAsync(InboxItem item, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (item.BodyBlob is null)
        {
            return item.InlineBody ?? [];
        }

        var content = await container.GetBlobClient(item.BodyBlob).DownloadContentAsync(cancellationToken);
        return content.Value.Content.ToArray();
    }

    public async Task MarkProcessedAsync(InboxItem item, DateTimeOffset at, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(item);
        await table.UpdateEntityAsync(
            new TableEntity(item.Source, item.Key) { ["Status"] = Processed, ["ProcessedAt"] = at },
            ETag.All, TableUpdateMode.Merge, cancellationToken);
    }

    /// <summary>Rows acknowledged before <paramref name="before"/> and not yet processed (the sweeper's work).</summary>
    public async Task<IReadOnlyList<InboxItem>> GetUnprocessedAsync(DateTimeOffset before, int max, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var items = new List<InboxItem>();
        var filter = TableClient.CreateQueryFilter($"Status eq {Pending} and ReceivedAt lt {before}");
        await foreach (var row in table.QueryAsync<TableEntity>(filter, maxPerPage: max, cancellationToken: cancellationToken))
        {
            items.Add(ToItem(row));
            if (items.Count >= max)
            {
                break;
            }
        }

        return items;
    }

    /// <summary>Whether a row of <paramref name="source"/> acknowledged between <paramref name="from"/> and <paramref name="before"/> is not yet processed.</summary>
    public async Task<bool> HasUnprocessedAsync(string source, DateTimeOffset from, DateTimeOffset before, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var filter = TableClient.CreateQueryFilter($"PartitionKey eq {source} and Status eq {Pending} and ReceivedAt ge {from} and ReceivedAt lt {before}");
        await foreach (var _ in table.QueryAsync<TableEntity>(filter, maxPerPage: 1, select: ["RowKey"], cancellationToken: cancellationToken))
        {
            return true;
        }

        return false;
    }

    private static InboxItem ToItem(TableEntity row) => new(
        row.PartitionKey,
        row.RowKey,
        row.GetString("Kind") ?? "",
        row.GetDateTimeOffset("ReceivedAt") ?? DateTimeOffset.MinValue,
        row.GetString("Status") == Processed,
        row.GetString("ResourceType"),
        row.GetString("ResourceId"),
        row.GetString("VersionId"),
        row.GetString("EventKind"),
        row.GetBinary("Body"),
        row.GetString("BodyBlob"));

    private async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (!tableReady)
        {
            await table.CreateIfNotExistsAsync(cancellationToken);
            tableReady = true;
        }
    }

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (!containerReady)
        {
            await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            containerReady = true;
        }
    }
}
