using Azure.Data.Tables;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Intake;
using Microsoft.Extensions.Options;

namespace Engagement.Integration.Tests.Intake;

/// <summary>
/// The event journal records each routed event once: records of one source that meet in a process share one
/// transaction, a repeat (in the same batch, or recorded before) answers false, and only one of two concurrent
/// processors counts an event. Rows an earlier version left unrouted are flagged by the next record. Retention deletes
/// the rows recorded before its cutoff, with their blobs.
/// </summary>
public sealed class EventJournalTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 7, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Concurrent_records_count_each_event_once_and_another_instance_sees_them_routed()
    {
        var options = Options.Create(new IntakeOptions { StoragePrefix = IntakeFixture.NewPrefix() });
        var journal = new EventJournal(new IntakeStorage(TestEnvironment.StorageClients()), options);
        var events = Enumerable.Range(0, 150).Select(i => Event($"e{i:D3}", i == 3 ? new string('x', 70 * 1024) : "{}")).ToList();
        var submissions = events.Concat(events.Where((_, i) => i % 5 == 0)).OrderBy(_ => Random.Shared.Next()).ToList();

        var recorded = await Task.WhenAll(submissions.Select(e => Task.Run(() => journal.RecordRoutedAsync(e, At, CancellationToken.None))));

        Assert.Equal(150, recorded.Count(r => r));
        var other = new EventJournal(new IntakeStorage(TestEnvironment.StorageClients()), options);
        foreach (var e in events)
        {
            Assert.True(await other.IsRoutedAsync(e, CancellationToken.None), e.EventId);
        }

        Assert.False(await other.IsRoutedAsync(Event("never-routed", "{}"), CancellationToken.None));
        Assert.False(await other.RecordRoutedAsync(events[0], At, CancellationToken.None));
        var rows = await TestEnvironment.StorageClients().Tables.GetTableClient(journal.TableName).QueryAsync<TableEntity>().ToListAsync();
        Assert.Equal(150, rows.Count);
        Assert.All(rows, r => Assert.True(r.GetBoolean("Routed")));
        Assert.Equal("events/ehr1/e003.json", rows.Single(r => r.RowKey == "e003").GetString("ResourceBlob"));
    }

    [Fact]
    public async Task A_row_an_earlier_version_left_unrouted_is_flagged_by_one_of_two_concurrent_records()
    {
        var options = Options.Create(new IntakeOptions { StoragePrefix = IntakeFixture.NewPrefix() });
        var tables = TestEnvironment.StorageClients().Tables;
        var table = tables.GetTableClient(options.Value.StoragePrefix + "Events");
        await table.CreateIfNotExistsAsync();
        await table.AddEntityAsync(new TableEntity("ehr1", "legacy") { ["ResourceType"] = "Encounter", ["Routed"] = false });
        var first = new EventJournal(new IntakeStorage(TestEnvironment.StorageClients()), options);
        var second = new EventJournal(new IntakeStorage(TestEnvironment.StorageClients()), options);
        Assert.False(await first.IsRoutedAsync(Event("legacy", "{}"), CancellationToken.None));

        var recorded = await Task.WhenAll(
            first.RecordRoutedAsync(Event("legacy", "{}"), At, CancellationToken.None),
            second.RecordRoutedAsync(Event("legacy", "{}"), At, CancellationToken.None),
            second.RecordRoutedAsync(Event("new", "{}"), At, CancellationToken.None));

        Assert.Equal(1, recorded.Take(2).Count(r => r));
        Assert.True(recorded[2]);
        Assert.True(await first.IsRoutedAsync(Event("legacy", "{}"), CancellationToken.None));
    }

    [Fact]
    public async Task Retention_deletes_events_recorded_before_the_cutoff_with_their_resource_blobs()
    {
        var options = Options.Create(new IntakeOptions { StoragePrefix = IntakeFixture.NewPrefix() });
        var storage = new IntakeStorage(TestEnvironment.StorageClients());
        var journal = new EventJournal(storage, options);
        var old = Enumerable.Range(0, 120).Select(i => Event($"old{i:D3}", i == 7 ? new string('x', 70 * 1024) : "{}")).ToList();
        await Task.WhenAll(old.Select(e => journal.RecordRoutedAsync(e, At, CancellationToken.None)));
        var recent = Event("recent", "{}");
        await journal.RecordRoutedAsync(recent, At.AddHours(2), CancellationToken.None);
        var blob = storage.Clients.Blobs.GetBlobContainerClient(options.Value.StoragePrefix.ToLowerInvariant() + "-inbox").GetBlobClient("events/ehr1/old007.json");
        Assert.True(await blob.ExistsAsync());

        Assert.Equal(120, await journal.DeleteRecordedBeforeAsync(At.AddHours(1), CancellationToken.None));

        var rows = await storage.Clients.Tables.GetTableClient(journal.TableName).QueryAsync<TableEntity>().ToListAsync();
        Assert.Equal("recent", Assert.Single(rows).RowKey);
        Assert.False(await blob.ExistsAsync());
        Assert.False(await journal.IsRoutedAsync(old[0], CancellationToken.None));
        Assert.True(await journal.IsRoutedAsync(recent, CancellationToken.None));
    }

    private static ClinicalEvent Event(string id, string json) =>
        new(id, "ehr1", "Encounter", id, "1", ClinicalEventKind.Updated, "Subscription/s1", "discharge", null, At, json);
}
