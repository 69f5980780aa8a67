using System.Net;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Options;

namespace Engagement.Intake;

/// <summary>
/// The event log other features read (<c>{prefix}Events</c>): partition = source, row = the event's deterministic id.
/// A row is written once (a second write of the same event is a no-op) and flagged <c>Routed</c> after the router
/// took it, so a crash between the two routes it again rather than never.
/// </summary>
public sealed class EventJournal
{
    private const int InlineLimit = 60 * 1024;
    private readonly TableClient table;
    private readonly BlobContainerClient container;
    private volatile bool ready;

    public EventJournal(StorageClients storage, IOptions<IntakeOptions> options)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(options);
        table = storage.Tables.GetTableClient(options.Value.EventsTable);
        container = storage.Blobs.GetBlobContainerClient(options.Value.ContainerName);
    }

    public string TableName => table.Name;

    /// <summary>
    /// Writes the event unless present. Answers the row's ETag when the event still has to be routed (pass it to
    /// <see cref="MarkRoutedAsync"/>), null when it was routed already. The insert comes first: a new event — the
    /// usual case — costs one storage call, a repeated one two.
    /// </summary>
    public async Task<ETag?> RecordAsync(ClinicalEvent e, DateTimeOffset at, CancellationToken cancellationToken)
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
            ["Routed"] = false,
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

        try
        {
            var added = await table.AddEntityAsync(entity, cancellationToken);
            return added.Headers.ETag ?? ETag.All;
        }
        catch (RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.Conflict)
        {
            var existing = await table.GetEntityIfExistsAsync<TableEntity>(e.Source, e.EventId, ["Routed"], cancellationToken);
            return !existing.HasValue ? ETag.All : existing.Value!.GetBoolean("Routed") == true ? null : existing.Value.ETag;
        }
    }

    /// <summary>
    /// Marks the event routed, given the ETag <see cref="RecordAsync"/> answered. True for the one call that marked it:
    /// two processors can route the same event at once (routing is idempotent), and only one of them counts it as
    /// processed.
    /// </summary>
    public async Task<bool> MarkRoutedAsync(ClinicalEvent e, ETag recorded, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (await TryMarkRoutedAsync(e, recorded, cancellationToken))
        {
            return true;
        }

        // Changed since recorded: marked by the other processor, unless it was only written again unrouted.
        var row = await table.GetEntityIfExistsAsync<TableEntity>(e.Source, e.EventId, ["Routed"], cancellationToken);
        return row.HasValue && row.Value!.GetBoolean("Routed") != true && await TryMarkRoutedAsync(e, row.Value.ETag, cancellationToken);
    }

    /// <summary>Sets Routed if the row still has <paramref name="etag"/>; false when another writer came first (412).</summary>
    private async Task<bool> TryMarkRoutedAsync(ClinicalEvent e, ETag etag, CancellationToken cancellationToken)
    {
        try
        {
            await table.UpdateEntityAsync(new TableEntity(e.Source, e.EventId) { ["Routed"] = true }, etag, TableUpdateMode.Merge, cancellationToken);
            return true;
        }
        catch (RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.PreconditionFailed)
        {
            return false;
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
