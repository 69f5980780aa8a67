using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Engagement.Hosting;
using Microsoft.Extensions.Configuration;

namespace Engagement.Storage.AzureStorage;

/// <summary>
/// The storage account behind <c>AzureWebJobsStorage</c> (Azurite locally): table, queue and blob clients.
/// One instance per process; the SDK clients are thread-safe and pool their connections.
/// </summary>
public sealed class StorageClients
{
    public StorageClients(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ConnectionString = configuration[ConfigurationKeys.Storage] is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"Configuration '{ConfigurationKeys.Storage}' is required (UseDevelopmentStorage=true for Azurite).");
        // Fail fast: callers answer 503 and the sender retries, rather than holding requests for minutes.
        var tableOptions = new TableClientOptions();
        tableOptions.Retry.MaxRetries = 2;
        tableOptions.Retry.NetworkTimeout = TimeSpan.FromSeconds(10);
        Tables = new TableServiceClient(ConnectionString, tableOptions);
        Queues = new QueueServiceClient(ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        Blobs = new BlobServiceClient(ConnectionString);
    }

    public string ConnectionString { get; }

    public TableServiceClient Tables { get; }

    public QueueServiceClient Queues { get; }

    public BlobServiceClient Blobs { get; }
}
