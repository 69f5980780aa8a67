namespace Engagement.Storage.AzureStorage;

/// <summary>Storage is reachable when the table service lists its first page of tables.</summary>
public sealed class TableStorageProbe(string component, StorageClients storage) : IStorageProbe
{
    public string Component => component;

    public async Task ProbeAsync(CancellationToken cancellationToken)
    {
        await foreach (var _ in storage.Tables.QueryAsync(maxPerPage: 1, cancellationToken: cancellationToken).AsPages(pageSizeHint: 1))
        {
            break;
        }
    }
}
