using Azure.Data.Tables;
using Engagement.Storage.AzureStorage;
using Microsoft.DurableTask;

namespace Engagement.Diagnostics.DurableProbe;

/// <summary>
/// Appends one row per execution (deliberately not idempotent: the rows count how often the engine ran it).
/// </summary>
public sealed class RecordProbeStepActivity(ProbeStepStore store) : TaskActivity<ProbeStep, int>
{
    public override async Task<int> RunAsync(TaskActivityContext context, ProbeStep input)
    {
        ArgumentNullException.ThrowIfNull(input);
        await store.RecordAsync(input, CancellationToken.None);
        return input.Step;
    }
}

/// <summary>Rows of <c>DurableProbeSteps</c>: partition = instance id, row = step and a unique run id.</summary>
public sealed class ProbeStepStore(StorageClients storage)
{
    public const string TableName = "DurableProbeSteps";

    public async Task RecordAsync(ProbeStep step, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(step);
        var table = storage.Tables.GetTableClient(TableName);
        await table.CreateIfNotExistsAsync(cancellationToken);
        await table.AddEntityAsync(
            new TableEntity(step.InstanceId, $"{step.Step:D2}-{Guid.NewGuid():N}") { ["Step"] = step.Step },
            cancellationToken);
    }

    /// <summary>How many times each step ran for one instance.</summary>
    public async Task<IReadOnlyDictionary<int, int>> CountAsync(string instanceId, CancellationToken cancellationToken)
    {
        var table = storage.Tables.GetTableClient(TableName);
        await table.CreateIfNotExistsAsync(cancellationToken);
        var counts = new SortedDictionary<int, int>();
        await foreach (var row in table.QueryAsync<TableEntity>(e => e.PartitionKey == instanceId, cancellationToken: cancellationToken))
        {
            var step = row.GetInt32("Step") ?? 0;
            counts[step] = counts.GetValueOrDefault(step) + 1;
        }

        return counts;
    }
}
