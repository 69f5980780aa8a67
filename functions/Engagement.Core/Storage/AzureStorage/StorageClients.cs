using Azure.Core;
using Azure.Data.Tables;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Engagement.Hosting;
using Microsoft.Extensions.Configuration;

namespace Engagement.Storage.AzureStorage;

/// <summary>
/// The storage account behind <c>AzureWebJobsStorage</c>: table, queue and blob clients. Either a connection string
/// (Azurite: <c>UseDevelopmentStorage=true</c> or explicit endpoints) or, in Azure with shared keys disabled, the
/// identity-based form the Functions runtime uses: <c>AzureWebJobsStorage__accountName</c> (or
/// <c>__tableServiceUri</c>/<c>__queueServiceUri</c>/<c>__blobServiceUri</c>) with <c>__credential=managedidentity</c>
/// and optional <c>__clientId</c>. One instance per process; the SDK clients are thread-safe.
/// </summary>
public sealed class StorageClients
{
    public StorageClients(IConfiguration configuration)
        : this(configuration, ConfigurationKeys.Storage)
    {
    }

    /// <summary>The account of the connection <paramref name="connectionName"/> (a connection string, or <c>{name}__accountName</c>, …).</summary>
    public StorageClients(IConfiguration configuration, string connectionName)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentException.ThrowIfNullOrEmpty(connectionName);
        // Fail fast: callers answer 503 and the sender retries, rather than holding requests for minutes.
        var tableOptions = new TableClientOptions();
        tableOptions.Retry.MaxRetries = 2;
        tableOptions.Retry.NetworkTimeout = TimeSpan.FromSeconds(10);
        var queueOptions = new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 };

        if (configuration[connectionName] is { Length: > 0 } connectionString)
        {
            ConnectionString = connectionString;
            Tables = new TableServiceClient(connectionString, tableOptions);
            Queues = new QueueServiceClient(connectionString, queueOptions);
            Blobs = new BlobServiceClient(connectionString);
            return;
        }

        var section = configuration.GetSection(connectionName);
        var account = section["accountName"];
        Uri Endpoint(string service) =>
            section[$"{service}ServiceUri"] is { Length: > 0 } uri ? new Uri(uri)
            : account is { Length: > 0 } ? new Uri($"https://{account}.{service}.core.windows.net")
            : throw new InvalidOperationException(
                $"Configuration '{connectionName}' is required: a connection string (UseDevelopmentStorage=true for Azurite) " +
                $"or '{connectionName}__accountName' for identity-based access.");
        var credential = Credential(section);
        Tables = new TableServiceClient(Endpoint("table"), credential, tableOptions);
        Queues = new QueueServiceClient(Endpoint("queue"), credential, queueOptions);
        Blobs = new BlobServiceClient(Endpoint("blob"), credential);
    }

    /// <summary>The connection string, or null with identity-based access.</summary>
    public string? ConnectionString { get; }

    public TableServiceClient Tables { get; }

    public QueueServiceClient Queues { get; }

    public BlobServiceClient Blobs { get; }

    internal static TokenCredential Credential(IConfiguration section) =>
        string.Equals(section["credential"], "managedidentity", StringComparison.OrdinalIgnoreCase)
            ? new ManagedIdentityCredential(section["clientId"] is { Length: > 0 } id ? ManagedIdentityId.FromUserAssignedClientId(id) : ManagedIdentityId.SystemAssigned)
            : new DefaultAzureCredential();
}
