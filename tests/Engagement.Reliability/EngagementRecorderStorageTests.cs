using Engagement.Integration.Tests.Infrastructure;
using Engagement.Measures;
using Engagement.Measures.AzureStorage;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Engagement.Reliability;

/// <summary>
/// Found by <see cref="StorageOperationsTests"/>: the follow-up's send step records its run's <c>engaged</c> event at
/// every send (counted once), and every repeat cost three storage requests (a bucket read, a transaction that fails
/// on the existing event row, an event-row read). A repeat the same process has already recorded now costs none.
/// </summary>
public sealed class EngagementRecorderStorageTests
{
    // Midday, so that a minute later is the same day (the recorder de-duplicates within a day).
    private static readonly DateTimeOffset Noon = new(DateTime.UtcNow.Date.AddHours(12), TimeSpan.Zero);

    [Fact]
    public async Task A_repeated_engagement_event_costs_no_storage_request_and_is_still_counted_once()
    {
        await using var proxy = new StorageProxy(TestEnvironment.StorageConnectionString);
        await proxy.StartAsync();
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["AzureWebJobsStorage"] = proxy.ConnectionString })
            .Build();
        var options = Options.Create(new MeasuresOptions { TableName = "Measures" + Guid.NewGuid().ToString("N")[..12] });
        var store = new TableEngagementStore(new StorageClients(configuration), options);
        var instance = "run-" + Guid.NewGuid().ToString("N")[..12];
        await store.RememberRunAsync(instance, new RunCohort("post-discharge", "40-64", "en", "sms"), CancellationToken.None);
        var engaged = new EngagementEvent { Id = "engaged-" + instance, Kind = EngagementEventKinds.Engaged, OccurredAt = Noon, InstanceId = instance };

        Assert.True(await store.RecordAsync(engaged, CancellationToken.None));
        var before = proxy.Requests.Count;
        Assert.False(await store.RecordAsync(engaged, CancellationToken.None));
        Assert.False(await store.RecordAsync(engaged with { OccurredAt = engaged.OccurredAt.AddMinutes(1) }, CancellationToken.None));
        Assert.Equal(before, proxy.Requests.Count);

        // Another process (a second store) has not seen it: the table's own de-duplication still answers — at the cost
        // every repeat had before (measured after a first, different event has warmed the table and partition caches).
        var other = new TableEngagementStore(new StorageClients(configuration), options);
        await other.RememberRunAsync(instance, new RunCohort("post-discharge", "40-64", "en", "sms"), CancellationToken.None);
        Assert.True(await other.RecordAsync(engaged with { Id = "due-" + instance, Kind = EngagementEventKinds.ActivityDue }, CancellationToken.None));
        var warmed = proxy.Requests.Count;
        Assert.False(await other.RecordAsync(engaged, CancellationToken.None));
        var throughTable = proxy.Requests.Skip(warmed).ToList();
        ReliabilityRun.Record("A repeated engagement event (the send step's engaged event at every send)", [
            ("storage requests of a repeat through the table's de-duplication (before)", throughTable.Count),
            ("  of which", string.Join(", ", throughTable.Select(r => r.Operation))),
            ("storage requests of a repeat this process recorded (after)", 0),
        ]);
        Assert.NotEmpty(throughTable);
        Assert.Equal(0, proxy.Failures);
    }
}
