using System.Net;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Engagement.Storage;
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
/// Marking a row processed drops its inline body.
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
    private GroupCommit<(string Key, DateTimeOffset At), bool>? marks;

    /// <summary>Most operations in one entity-group transaction.</summary>
    private const int MaxTransaction = 100;

    public InboxStore(IntakeStorage storage, IOptions<IntakeOptions> options)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(options);
        table = storage.Clients.Tables.GetTableClient(options.Value.InboxTable);
        container = storage.Clients.Blobs.GetBlobContainerClient(options.Value.ContainerName);
    }

    /// <summary>The row <see cref="AddAsync"/> writes for <paramref name="item"/>: the body inline, or the blob it goes to.</summary>
    public static InboxItem AsStored(InboxItem item, byte[] body)
    {
        ArgumentNullException.ThrowIfNull(item);
        ArgumentNullException.ThrowIfNull(body);
        return body.Length <= InlineLimit ? item with { InlineBody = body, BodyBlob = null } : item with { InlineBody = null, BodyBlob = BlobName(item) };
    }

    private static string BlobName(InboxItem item) => $"{item.Source.ToLowerInvariant()}/{item.Key}.json";

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

            var blobName = BlobName(item);
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

    /// <summary>
    /// Marks the row processed. Marks of the same source that meet in this process go out together, as one entity-group
    /// transaction of up to 100 rows (<see cref="GroupCommit{TItem,TResult}"/>): one storage call where concurrent
    /// processors made one each. Returns once the write holding this row has succeeded.
    /// </summary>
    public Task MarkProcessedAsync(InboxItem item, DateTimeOffset at, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(item);
        var group = LazyInitializer.EnsureInitialized(ref marks, () => new(WriteMarksAsync, waiting => Math.Min(waiting.Count, MaxTransaction)));
        return group.SubmitAsync(item.Source, (item.Key, at), cancellationToken);
    }

    private async Task<IReadOnlyList<GroupCommitOutcome<bool>>> WriteMarksAsync(string source, IReadOnlyList<(string Key, DateTimeOffset At)> rows)
    {
        // The inline body goes with the mark: a processed row is never read again (a rerun reads only unprocessed rows;
        // a duplicate is told by the key), and the body is the EHR's payload, PHI kept for no purpose and most of the
        // row's size. A body in a blob stays (deleting it would be a call per row).
        static TableEntity Mark(string source, string key, DateTimeOffset at) => new(source, key) { ["Status"] = Processed, ["ProcessedAt"] = at, ["Body"] = Array.Empty<byte>() };

        // A transaction may not touch a row twice (the same row processed twice at once): the last mark stands for both.
        var distinct = rows.GroupBy(r => r.Key, StringComparer.Ordinal).Select(g => g.Last()).ToList();
        if (distinct.Count > 1)
        {
            try
            {
                await table.SubmitTransactionAsync(distinct.Select(r => new TableTransactionAction(TableTransactionActionType.UpdateMerge, Mark(source, r.Key, r.At), ETag.All)));
                return [.. rows.Select(_ => GroupCommitOutcome.Of(true))];
            }
            catch (TableTransactionFailedException)
            {
                // One row failed the whole transaction: mark them one by one, each with its own outcome.
            }
        }

        var outcomes = new GroupCommitOutcome<bool>[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            try
            {
                await table.UpdateEntityAsync(Mark(source, rows[i].Key, rows[i].At), ETag.All, TableUpdateMode.Merge);
                outcomes[i] = GroupCommitOutcome.Of(true);
            }
            catch (RequestFailedException ex)
            {
                outcomes[i] = GroupCommitOutcome.Failed<bool>(ex);
            }
        }

        return outcomes;
    }

    /// <summary>
    /// The keys of rows acknowledged before <paramref name="before"/> and not yet processed, at most
    /// <paramref name="max"/> (the sweeper's scans). Reads every row of the table: Status is no key.
    /// </summary>
    public async Task<IReadOnlyList<(string Source, string Key)>> GetUnprocessedKeysAsync(DateTimeOffset before, int max, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var keys = new List<(string, string)>();
        var filter = TableClient.CreateQueryFilter($"Status eq {Pending} and ReceivedAt lt {before}");
        await foreach (var row in table.QueryAsync<TableEntity>(filter, maxPerPage: Math.Min(max, 1000), select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken))
        {
            keys.Add((row.PartitionKey, row.RowKey));
            if (keys.Count >= max)
            {
                break;
            }
        }

        return keys;
    }

    /// <summary>
    /// Deletes the rows processed before <paramref name="cutoff"/> and their body blobs (<see cref="IntakeRetention"/>).
    /// Pending rows are never deleted, however old. Reads every row of the table: neither Status nor ProcessedAt is a key.
    /// </summary>
    public async Task<int> DeleteProcessedBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var filter = TableClient.CreateQueryFilter($"Status eq {Processed} and ProcessedAt lt {cutoff}");
        return await ExpiredRows.DeleteAsync(table, container, filter, "BodyBlob", cancellationToken);
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
