using Engagement.Durable;
using Engagement.Hosting;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Engagement.FollowUp.Engine;

/// <summary>Configuration section <c>Engagement:FollowUp</c>: how long ended runs keep their durable history.</summary>
public sealed class DurableRetentionOptions
{
    /// <summary>Ended runs (completed, failed, terminated) created longer ago than this lose their durable history.</summary>
    public TimeSpan DurableRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often the purge runs.</summary>
    public TimeSpan DurablePurgeInterval { get; set; } = TimeSpan.FromHours(1);
}

/// <summary>
/// Purges the durable history (the task hub's instance and history rows) of ended runs older than
/// <see cref="DurableRetentionOptions.DurableRetention"/>. Without it the task hub grows with every run ever started,
/// and every orchestration step reads its history from a growing table. What a run did stays in our own tables: the
/// run's outcome (<see cref="FollowUpIndex"/>), its history lines, the FHIR resources it produced and the measures;
/// <c>GET /api/followups/{id}</c> answers from those once the durable history is gone. Running instances are never
/// purged.
/// </summary>
public sealed class DurableRetention(IOptions<DurableRetentionOptions> options, TimeProvider time, ILogger<DurableRetention> logger)
{
    private static readonly OrchestrationRuntimeStatus[] Ended =
        [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated];

    private long nextDue;

    /// <summary>Purges now. Returns how many instances were purged.</summary>
    public async Task<int> PurgeAsync(DurableTaskClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var cutoff = time.GetUtcNow() - options.Value.DurableRetention;
        var result = await client.PurgeAllInstancesAsync(new PurgeInstancesFilter(CreatedFrom: DateTimeOffset.UnixEpoch, CreatedTo: cutoff, Statuses: Ended), cancellationToken);
        if (result.PurgedInstanceCount > 0)
        {
            logger.LogInformation("Purged the durable history of {Count} ended runs created before {Cutoff:o}", result.PurgedInstanceCount, cutoff);
        }

        return result.PurgedInstanceCount;
    }

    /// <summary>
    /// Purges when the interval has passed since the last purge in this process (for a host whose durable client exists
    /// only inside a trigger invocation: the Functions app calls this from its intake queue trigger).
    /// </summary>
    public async Task RunIfDueAsync(DurableTaskClient client, CancellationToken cancellationToken)
    {
        if (!TakeTurn())
        {
            return;
        }

        try
        {
            await PurgeAsync(client, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("Durable history purge failed ({ExceptionType}); the next one tries again.", ex.GetType().Name);
        }
    }

    /// <summary>
    /// True for the one caller that finds the interval passed since the last turn taken in this process (the first call
    /// always); that caller's turn starts the next interval.
    /// </summary>
    internal bool TakeTurn()
    {
        var now = time.GetUtcNow().UtcTicks;
        var due = Interlocked.Read(ref nextDue);
        return now >= due && Interlocked.CompareExchange(ref nextDue, now + options.Value.DurablePurgeInterval.Ticks, due) == due;
    }
}

/// <summary>Runs <see cref="DurableRetention"/> every purge interval where a durable client is at hand (the standalone host).</summary>
public sealed class DurableRetentionLoop(DurableRetention retention, IDurableClientAccessor durable, IOptions<DurableRetentionOptions> options, ILogger<DurableRetentionLoop> logger)
    : PeriodicBackgroundService(logger)
{
    protected override TimeSpan Interval => options.Value.DurablePurgeInterval;

    protected override string Work => "Durable history purge";

    protected override Task RunOnceAsync(CancellationToken stoppingToken) =>
        durable.Client is { } client ? retention.PurgeAsync(client, stoppingToken) : Task.CompletedTask;
}
