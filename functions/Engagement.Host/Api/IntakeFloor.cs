using Azure.Data.Tables;
using Engagement.Intake;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Options;

namespace Engagement.Host.Api;

/// <summary>
/// Benchmark floor (standalone host only, opt-in): one table insert per request and nothing else, so the intake
/// accept path can be reported as a share of what the storage allows on the same machine in the same run.
/// </summary>
public sealed class IntakeFloor(IntakeStorage storage, IOptions<IntakeOptions> options)
{
    private readonly TableClient table = storage.Clients.Tables.GetTableClient(options.Value.StoragePrefix + "Floor");
    private volatile bool ready;

    public async Task<IResult> InsertAsync(CancellationToken cancellationToken)
    {
        if (!ready)
        {
            await table.CreateIfNotExistsAsync(cancellationToken);
            ready = true;
        }

        await table.AddEntityAsync(new TableEntity("floor", Guid.NewGuid().ToString("N")) { ["At"] = DateTimeOffset.UtcNow }, cancellationToken);
        return Results.Ok();
    }
}
