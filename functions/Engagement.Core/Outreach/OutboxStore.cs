using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Azure;
using Azure.Data.Tables;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Options;

namespace Engagement.Outreach;

/// <summary>
/// The outbox (<c>Outbox</c> table): a message is written here in the same step that decides to send it, and the
/// dispatcher hands it to the transport later. Rows are spread over <see cref="ShardCount"/> partitions by message id;
/// the row key is the message id, so writing the same message twice is a no-op.
/// <para>
/// Pending markers: with each message, in the same transaction, a marker row <c>{PendingPrefix}{messageId}</c> (a copy
/// of the message) that is deleted in the same transaction that marks the message sent or suppressed. The dispatcher
/// reads the marker range of a shard — a row-key range query, so what it reads is what is pending, not every message
/// ever sent (a filter on <c>Status</c> is a scan of the whole partition in Table Storage, which grows with every
/// message for as long as the outbox is kept). Only one of two racing dispatchers can delete the marker (its ETag), so
/// a message is marked once.
/// </para>
/// </summary>
public sealed class OutboxStore(StorageClients storage, IOptions<OutreachOptions> options)
{
    public const int ShardCount = 8;
    public const string Pending = "Pending";
    public const string Sent = "Sent";

    /// <summary>Never handed to the transport: the patient opted out after the message was decided.</summary>
    public const string Suppressed = "Suppressed";

    /// <summary>Row-key prefix of the pending markers ('!' sorts before the message ids, <c>msg-…</c>).</summary>
    public const string PendingPrefix = "!pending|";

    private readonly TableClient table = storage.Tables.GetTableClient(options.Value.TableName);
    private readonly ConcurrentDictionary<int, bool> markedLegacy = new();
    private volatile bool created;

    /// <summary>Whether a row of the outbox table is a pending marker, not a message.</summary>
    public static bool IsPendingMarker(string rowKey) => rowKey?.StartsWith(PendingPrefix, StringComparison.Ordinal) == true;

    /// <summary>Adds the message unless it is already there. Returns false for a duplicate.</summary>
    public async Task<bool> EnqueueAsync(OutreachMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        await EnsureTableAsync(cancellationToken);
        var partition = ShardOf(message.MessageId);
        var body = JsonSerializer.Serialize(message);
        var entity = new TableEntity(partition, message.MessageId)
        {
            ["Status"] = Pending,
            ["Attempts"] = 0,
            ["Body"] = body,
            ["CreatedAt"] = message.CreatedAt,
        };
        try
        {
            await table.SubmitTransactionAsync([
                new(TableTransactionActionType.Add, entity),
                new(TableTransactionActionType.Add, Marker(partition, message.MessageId, body, message.CreatedAt)),
            ], cancellationToken);
            return true;
        }
        catch (TableTransactionFailedException ex) when (ex.Status == (int)HttpStatusCode.Conflict)
        {
            return false;
        }
    }

    private static TableEntity Marker(string partition, string messageId, string body, DateTimeOffset createdAt) => new(partition, PendingPrefix + messageId)
    {
        ["Attempts"] = 0,
        ["Body"] = body,
        ["CreatedAt"] = createdAt,
    };

    /// <summary>Up to <paramref name="max"/> pending messages of a shard, from its marker range (ETag: the marker's).</summary>
    public async Task<IReadOnlyList<OutboxEntry>> GetPendingAsync(int shard, int max, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var partition = "s" + shard.ToString(CultureInfo.InvariantCulture);
        await MarkLegacyPendingAsync(shard, partition, cancellationToken);
        var entries = new List<OutboxEntry>();
        await foreach (var row in table.QueryAsync<TableEntity>(
            $"PartitionKey eq '{partition}' and RowKey ge '{PendingPrefix}' and RowKey lt '{PendingPrefix[..^1]}}}'", maxPerPage: max, cancellationToken: cancellationToken))
        {
            entries.Add(new OutboxEntry(
                JsonSerializer.Deserialize<OutreachMessage>(row.GetString("Body"))!,
                row.PartitionKey,
                row.ETag,
                row.GetInt32("Attempts") ?? 0));
            if (entries.Count >= max)
            {
                break;
            }
        }

        return entries;
    }

    /// <summary>
    /// Once per shard and process: messages written before pending markers existed (status Pending, no marker) get
    /// their marker — the one filter on <c>Status</c> left, so an upgrade loses nothing.
    /// </summary>
    private async Task MarkLegacyPendingAsync(int shard, string partition, CancellationToken cancellationToken)
    {
        if (markedLegacy.ContainsKey(shard))
        {
            return;
        }

        await foreach (var row in table.QueryAsync<TableEntity>($"PartitionKey eq '{partition}' and Status eq '{Pending}'", cancellationToken: cancellationToken))
        {
            try
            {
                await table.AddEntityAsync(Marker(partition, row.RowKey, row.GetString("Body") ?? "", row.GetDateTimeOffset("CreatedAt") ?? default), cancellationToken);
            }
            catch (RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.Conflict)
            {
                // It has its marker.
            }
        }

        markedLegacy[shard] = true;
    }

    public async Task<OutreachMessage?> GetAsync(string messageId, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(ShardOf(messageId), messageId, cancellationToken: cancellationToken);
        return row.HasValue ? JsonSerializer.Deserialize<OutreachMessage>(row.Value!.GetString("Body")) : null;
    }

    public async Task<string?> GetStatusAsync(string messageId, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(ShardOf(messageId), messageId, ["Status"], cancellationToken);
        return row.HasValue ? row.Value!.GetString("Status") : null;
    }

    /// <summary>Marks an entry sent and deletes its marker. Losing the race to another dispatcher is fine: the message went out either way.</summary>
    public Task MarkSentAsync(OutboxEntry entry, DateTimeOffset sentAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return CloseAsync(entry, new TableEntity(entry.Partition, entry.Message.MessageId)
        {
            ["Status"] = Sent,
            ["SentAt"] = sentAt,
            ["Attempts"] = entry.Attempts + 1,
        }, cancellationToken);
    }

    /// <summary>Marks an entry suppressed (not sent, never retried) and deletes its marker. Losing the race to another dispatcher is fine.</summary>
    public Task MarkSuppressedAsync(OutboxEntry entry, DateTimeOffset at, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return CloseAsync(entry, new TableEntity(entry.Partition, entry.Message.MessageId)
        {
            ["Status"] = Suppressed,
            ["SuppressedAt"] = at,
            ["Reason"] = reason,
        }, cancellationToken);
    }

    /// <summary>The message's new status and the marker's deletion (checked against the marker's ETag) in one transaction.</summary>
    private async Task CloseAsync(OutboxEntry entry, TableEntity update, CancellationToken cancellationToken)
    {
        try
        {
            await table.SubmitTransactionAsync([
                new(TableTransactionActionType.UpdateMerge, update, ETag.All),
                new(TableTransactionActionType.Delete, new TableEntity(entry.Partition, PendingPrefix + entry.Message.MessageId), entry.ETag),
            ], cancellationToken);
        }
        catch (TableTransactionFailedException ex) when (ex.Status is (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.NotFound)
        {
            // Another dispatcher marked it first; the transport drops a duplicate by MessageId.
        }
    }

    /// <summary>The partition (shard) of a message id.</summary>
    public static string ShardOf(string messageId)
    {
        var hash = 0u;
        foreach (var c in messageId)
        {
            hash = (hash * 31) + c;
        }

        return "s" + (hash % ShardCount).ToString(CultureInfo.InvariantCulture);
    }

    private async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (!created)
        {
            await table.CreateIfNotExistsAsync(cancellationToken);
            created = true;
        }
    }
}

public sealed record OutboxEntry(OutreachMessage Message, string Partition, ETag ETag, int Attempts);
