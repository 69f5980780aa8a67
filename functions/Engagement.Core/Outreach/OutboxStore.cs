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
/// </summary>
public sealed class OutboxStore(StorageClients storage, IOptions<OutreachOptions> options)
{
    public const int ShardCount = 8;
    public const string Pending = "Pending";
    public const string Sent = "Sent";

    /// <summary>Never handed to the transport: the patient opted out after the message was decided.</summary>
    public const string Suppressed = "Suppressed";

    private readonly TableClient table = storage.Tables.GetTableClient(options.Value.TableName);
    private volatile bool created;

    /// <summary>Adds the message unless it is already there. Returns false for a duplicate.</summary>
    public async Task<bool> EnqueueAsync(OutreachMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        await EnsureTableAsync(cancellationToken);
        var entity = new TableEntity(ShardOf(message.MessageId), message.MessageId)
        {
            ["Status"] = Pending,
            ["Attempts"] = 0,
            ["Body"] = JsonSerializer.Serialize(message),
            ["CreatedAt"] = message.CreatedAt,
        };
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

    public async Task<IReadOnlyList<OutboxEntry>> GetPendingAsync(int shard, int max, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var partition = "s" + shard.ToString(CultureInfo.InvariantCulture);
        var entries = new List<OutboxEntry>();
        await foreach (var row in table.QueryAsync<TableEntity>(
            e => e.PartitionKey == partition && e.GetString("Status") == Pending, maxPerPage: max, cancellationToken: cancellationToken))
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

    /// <summary>Marks an entry sent. Losing the race to another dispatcher is fine: the message went out either way.</summary>
    public async Task MarkSentAsync(OutboxEntry entry, DateTimeOffset sentAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var update = new TableEntity(entry.Partition, entry.Message.MessageId)
        {
            ["Status"] = Sent,
            ["SentAt"] = sentAt,
            ["Attempts"] = entry.Attempts + 1,
        };
        try
        {
            await table.UpdateEntityAsync(update, entry.ETag, TableUpdateMode.Merge, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.PreconditionFailed)
        {
            // Another dispatcher sent and marked it first; the transport drops the duplicate by MessageId.
        }
    }

    /// <summary>Marks an entry suppressed (not sent, never retried). Losing the race to another dispatcher is fine.</summary>
    public async Task MarkSuppressedAsync(OutboxEntry entry, DateTimeOffset at, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var update = new TableEntity(entry.Partition, entry.Message.MessageId)
        {
            ["Status"] = Suppressed,
            ["SuppressedAt"] = at,
            ["Reason"] = reason,
        };
        try
        {
            await table.UpdateEntityAsync(update, entry.ETag, TableUpdateMode.Merge, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.PreconditionFailed)
        {
            // Another dispatcher handled it first.
        }
    }

    internal static string ShardOf(string messageId)
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
