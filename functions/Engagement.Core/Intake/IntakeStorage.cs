using Engagement.Hosting;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Engagement.Intake;

/// <summary>
/// The storage account of intake's tables (inbox, event journal, subscription state) and inbox blobs: the app's own
/// (<c>AzureWebJobsStorage</c>) unless <see cref="IntakeOptions.StorageConnectionName"/> names another connection. An
/// account of its own is a bulkhead: the EHR's acknowledgement then waits only for intake's writes, never behind the
/// follow-up, outreach and measures traffic of the app's account (in Azure, its request rate limit; on Azurite, its one
/// thread). The intake queue stays on <c>AzureWebJobsStorage</c>, the Functions queue trigger's connection.
/// </summary>
public sealed class IntakeStorage
{
    /// <summary>Intake on <paramref name="clients"/>.</summary>
    public IntakeStorage(StorageClients clients)
    {
        ArgumentNullException.ThrowIfNull(clients);
        Clients = clients;
    }

    public StorageClients Clients { get; }

    /// <summary>Whether <paramref name="connectionName"/> (<see cref="IntakeOptions.StorageConnectionName"/>) names an account other than the app's.</summary>
    public static bool IsOwnAccount(string? connectionName) =>
        !string.IsNullOrEmpty(connectionName) && !string.Equals(connectionName, ConfigurationKeys.Storage, StringComparison.OrdinalIgnoreCase);

    /// <summary>The app's account, or a client of the connection <see cref="IntakeOptions.StorageConnectionName"/> names.</summary>
    public static IntakeStorage Create(StorageClients app, IOptions<IntakeOptions> options, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(options);
        var name = options.Value.StorageConnectionName;
        return new IntakeStorage(IsOwnAccount(name) ? new StorageClients(configuration, name) : app);
    }
}
