using System.Net;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Engagement.Storage;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Options;

namespace Engagement.Intake;

/// <summary>
/// The log of events the router took (<c>{prefix}Events</c>): partition = source, row = the event's deterministic id,
/// written once, after routing. Routing is idempotent (deterministic instance ids), so a crash between routing and
/// recording routes the event again when its inbox row is processed again, rather than never. Rows written by earlier
/// versions, which recorded first and flagged <c>Routed</c> afterwards, may still say <c>Routed = false</c>.
/// </summary>
public sealed class EventJournal
{
    private const int InlineLimit = 60 * 1024;
    private const int MaxTransaction = 100;
    private const int MaxTransactionBytes = 3 * 1024 * 1024; // the service's limit is 4 MiB per transaction
    private readonly TableClient table;
    private readonly BlobContainerClient container;
    private readonly GroupCommit<TableEntity, bool> records;
    private volatile bool ready;

    public EventJournal(IntakeStorage storage, IOptions<IntakeOptions> options)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(options);
        table = storage.Clients.Tables.GetTableClient(options.Value.EventsTable);
        container = storage.Clients.Blobs.GetBlobContainerClient(options.Value.ContainerName);
        records = new(WriteAsync, TakeAsMuchAsFits);
    }

    public string TableName => table.Name;

    /// <summary>
    /// True when the event was recorded routed before. Ask before routing events a source can hand over again
    /// (a re-query by <c>_lastUpdated</c>); events from a newly stored notification need not ask.
    /// </summary>
    public async Task<bool> IsRoutedAsync(ClinicalEvent e, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(e);
        await EnsureAsync(cancellationToken);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(e.Source, e.EventId, ["Routed"], cancellationToken);
        return row.HasValue && row.Value!.GetBoolean("Routed") == true;
    }

    /// <summary>
    /// Records an event the router has taken. True for the one call that recorded it (two processors can route the
    /// same event at once, and only one of them counts it as processed); false when it was recorded before. Records of
    /// one source that meet in this process go out together, as one entity-group transaction: one storage call for
    /// all of them.
    /// </summary>
    public async Task<bool> RecordRoutedAsync(ClinicalEvent e, DateTimeOffset at, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(e);
        await EnsureAsync(cancellationToken);
        var entity = new TableEntity(e.Source, e.EventId)
        {
            ["ResourceType"] = e.ResourceType,
            ["ResourceId"] = e.ResourceId,
            ["VersionId"] = e.VersionId,
            ["Kind"] = e.Kind.ToString(),
            ["Subscription"] = e.Subscription,
            ["Topic"] = e.Topic,
            ["EventNumber"] = e.EventNumber,
            ["Timestamp"] = e.Timestamp,
            ["RecordedAt"] = at,
            ["Routed"] = true,
        };
        if (e.ResourceJson is { } json)
        {
            var bytes = Encoding.UTF8.GetBytes(json);
            if (bytes.Length <= InlineLimit)
            {
                entity["Resource"] = bytes;
            }
            else
            {
                // Deterministic name: a repeat overwrites the same bytes.
                var blob = $"events/{e.Source.ToLowerInvariant()}/{e.EventId}.json";
                await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
                await container.GetBlobClient(blob).UploadAsync(new BinaryData(bytes), overwrite: true, cancellationToken);
                entity["ResourceBlob"] = blob;
            }
        }

        return await records.SubmitAsync(e.Source, entity, cancellationToken);
    }

    /// <summary>
    /// Deletes the events recorded before <paramref name="cutoff"/> and their resource blobs (<see cref="IntakeRetention"/>).
    /// Reads every row of the table: RecordedAt is no key.
    /// </summary>
    public async Task<int> DeleteRecordedBeforeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken);
        var filter = TableClient.CreateQueryFilter($"RecordedAt lt {cutoff}");
        return await ExpiredRows.DeleteAsync(table, container, filter, "ResourceBlob", cancellationToken);
    }

    /// <summary>Up to 100 rows and 3 MiB, in arrival order.</summary>
    private static int TakeAsMuchAsFits(IReadOnlyList<TableEntity> waiting)
    {
        var count = 0;
        var bytes = 0;
        foreach (var entity in waiting)
        {
            bytes += 1024 + (entity.TryGetValue("Resource", out var value) && value is byte[] resource ? resource.Length : 0);
            if (count == MaxTransaction || (count > 0 && bytes > MaxTransactionBytes))
            {
                break;
            }

            count++;
        }

        return count;
    }

    /// <summary>
    /// Inserts the rows in one transaction. A row that exists fails the whole transaction: it was recorded before (its
    /// caller gets false) and the others are tried again without it.
    /// </summary>
    private async Task<IReadOnlyList<GroupCommitOutcome<bool>>> WriteAsync(string source, IReadOnlyList<TableEntity> rows)
    {
        var outcomes = new GroupCommitOutcome<bool>[rows.Count];
        var pending = new List<int>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < rows.Count; i++)
        {
            if (keys.Add(rows[i].RowKey))
            {
                pending.Add(i);
            }
            else
            {
                outcomes[i] = GroupCommitOutcome.Of(false); // the same event twice in this batch: the first records it
            }
        }

        while (pending.Count > 1)
        {
            try
            {
                await table.SubmitTransactionAsync(pending.Select(i => new TableTransactionAction(TableTransactionActionType.Add, rows[i])));
                foreach (var i in pending)
                {
                    outcomes[i] = GroupCommitOutcome.Of(true);
                }

                return outcomes;
            }
            catch (TableTransactionFailedException ex) when (ex.Status == (int)HttpStatusCode.Conflict && ex.FailedTransactionActionIndex is { } failed && failed < pending.Count)
            {
                var i = pending[failed];
                outcomes[i] = await ExistingAsync(rows[i]);
                pending.RemoveAt(failed);
            }
            catch (TableTransactionFailedException)
            {
                break; // not told which row: one by one, each with its own outcome
            }
        }

        foreach (var i in pending)
        {
            try
            {
                await table.AddEntityAsync(rows[i]);
                outcomes[i] = GroupCommitOutcome.Of(true);
            }
            catch (RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.Conflict)
            {
                outcomes[i] = await ExistingAsync(rows[i]);
            }
            catch (RequestFailedException ex)
            {
                outcomes[i] = GroupCommitOutcome.Failed<bool>(ex);
            }
        }

        return outcomes;
    }

    /// <summary>The row exists: recorded before, unless an earlier version left it unrouted — then this call flags it.</summary>
    private async Task<GroupCommitOutcome<bool>> ExistingAsync(TableEntity row)
    {
        try
        {
            var existing = await table.GetEntityIfExistsAsync<TableEntity>(row.PartitionKey, row.RowKey, ["Routed"]);
            if (!existing.HasValue || existing.Value!.GetBoolean("Routed") == true)
            {
                return GroupCommitOutcome.Of(false);
            }

            await table.UpdateEntityAsync(new TableEntity(row.PartitionKey, row.RowKey) { ["Routed"] = true }, existing.Value.ETag, TableUpdateMode.Merge);
            return GroupCommitOutcome.Of(true);
        }
        catch (RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.PreconditionFailed)
        {
            return GroupCommitOutcome.Of(false); // another processor flagged it first
        }
        catch (RequestFailedException ex)
        {
            return GroupCommitOutcome.Failed<bool>(ex);
        }
    }

    private async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (!ready)
        {
            await table.CreateIfNotExistsAsync(cancellationToken);
            ready = true;
        }
    }
}
