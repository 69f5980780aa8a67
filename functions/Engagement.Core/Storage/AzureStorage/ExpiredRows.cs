using System.Net;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Blobs;

namespace Engagement.Storage.AzureStorage;

/// <summary>
/// Deletes the rows of a table that a filter selects, and the blob each one names, for retention sweeps. A page of the
/// query at a time; the rows of one partition in entity-group transactions of up to 100. Each row is deleted with the
/// ETag it was read with: a row written since (set back to pending, say) is left for the next sweep; one already gone
/// (another instance's sweep) is no error. A row's blob goes before its row, so no blob is left behind with no row
/// naming it.
/// </summary>
public static class ExpiredRows
{
    private const int MaxTransaction = 100;

    /// <summary>Deletes what <paramref name="filter"/> selects. Returns how many rows this call deleted.</summary>
    public static async Task<int> DeleteAsync(TableClient table, BlobContainerClient container, string filter, string blobProperty, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(container);
        var deleted = 0;
        var pages = table.QueryAsync<TableEntity>(filter, maxPerPage: 1000, select: ["PartitionKey", "RowKey", blobProperty], cancellationToken: cancellationToken).AsPages();
        await foreach (var page in pages)
        {
            foreach (var partition in page.Values.GroupBy(r => r.PartitionKey, StringComparer.Ordinal))
            {
                foreach (var rows in partition.Chunk(MaxTransaction))
                {
                    foreach (var blob in rows.Select(r => r.GetString(blobProperty)).OfType<string>())
                    {
                        await container.DeleteBlobIfExistsAsync(blob, cancellationToken: cancellationToken);
                    }

                    deleted += await DeleteRowsAsync(table, rows, cancellationToken);
                }
            }
        }

        return deleted;
    }

    private static async Task<int> DeleteRowsAsync(TableClient table, TableEntity[] rows, CancellationToken cancellationToken)
    {
        if (rows.Length > 1)
        {
            try
            {
                await table.SubmitTransactionAsync(rows.Select(r => new TableTransactionAction(TableTransactionActionType.Delete, r, r.ETag)), cancellationToken);
                return rows.Length;
            }
            catch (TableTransactionFailedException)
            {
                // One row changed or gone fails them all: one by one, each with its own answer.
            }
        }

        var deleted = 0;
        foreach (var row in rows)
        {
            try
            {
                await table.DeleteEntityAsync(row.PartitionKey, row.RowKey, row.ETag, cancellationToken);
                deleted++;
            }
            catch (RequestFailedException ex) when (ex.Status is (int)HttpStatusCode.NotFound or (int)HttpStatusCode.PreconditionFailed)
            {
                // Gone already, or written since it was read: not this sweep's to delete.
            }
        }

        return deleted;
    }
}
