using Azure.Data.Tables;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Intake;
using Microsoft.Extensions.Options;

namespace Engagement.Integration.Tests.Intake;

/// <summary>
/// Marking inbox rows processed: marks of one source that meet in this process go out together (one transaction), and
/// each caller returns only once its row is marked. A row that cannot be marked fails only its own caller. A marked row
/// keeps no body. What is unprocessed is read from pending markers, which leave with the mark; rows from before the
/// markers get theirs, and a marker left behind by a crash is cleared.
/// </summary>
public sealed class InboxStoreTests
{
    [Fact]
    public async Task Concurrent_marks_all_land_and_a_missing_row_fails_only_its_own_caller()
    {
        var options = Options.Create(new IntakeOptions { StoragePrefix = IntakeFixture.NewPrefix() });
        var inbox = new InboxStore(new IntakeStorage(TestEnvironment.StorageClients()), options);
        var rows = new List<InboxItem>();
        for (var i = 0; i < 150; i++)
        {
            var row = new InboxItem("ehr1", $"k{i:D3}", InboxKinds.Notification, DateTimeOffset.UtcNow.AddMinutes(-5), false, null, null, null, null, null, null);
            Assert.True(await inbox.AddAsync(row, "{}"u8.ToArray(), CancellationToken.None));
            rows.Add(row);
        }

        Assert.Equal("{}"u8.ToArray(), (await inbox.GetAsync("ehr1", "k000", CancellationToken.None))!.InlineBody);
        var missing = rows[0] with { Key = "never-stored" };
        var marks = rows.Concat([rows[7], missing]).Select(r => Task.Run(() => inbox.MarkProcessedAsync(r, DateTimeOffset.UtcNow, CancellationToken.None))).ToList();
        await Assert.ThrowsAnyAsync<Azure.RequestFailedException>(() => marks[^1]);
        await Task.WhenAll(marks.Take(marks.Count - 1));

        // Read by another instance: every row is processed, without its body, and none was created for the missing key.
        var other = new InboxStore(new IntakeStorage(TestEnvironment.StorageClients()), options);
        foreach (var row in rows)
        {
            var stored = (await other.GetAsync("ehr1", row.Key, CancellationToken.None))!;
            Assert.True(stored.Processed);
            Assert.Empty(stored.InlineBody!);
        }

        Assert.Null(await other.GetAsync("ehr1", "never-stored", CancellationToken.None));
        Assert.Empty(await other.GetUnprocessedAsync(["ehr1"], DateTimeOffset.UtcNow, 10, CancellationToken.None));
    }

    [Fact]
    public async Task Unprocessed_rows_come_from_their_pending_markers_which_leave_with_the_mark()
    {
        var options = Options.Create(new IntakeOptions { StoragePrefix = IntakeFixture.NewPrefix() });
        var inbox = new InboxStore(new IntakeStorage(TestEnvironment.StorageClients()), options);
        var at = DateTimeOffset.UtcNow.AddMinutes(-5);
        var rows = Enumerable.Range(0, 3).Select(i => new InboxItem("ehr1", $"m{i}", InboxKinds.Notification, at.AddSeconds(i), false, null, null, null, null, null, null)).ToList();
        foreach (var row in rows)
        {
            Assert.True(await inbox.AddAsync(row, "{}"u8.ToArray(), CancellationToken.None));
        }

        Assert.False(await inbox.AddAsync(rows[0], "{}"u8.ToArray(), CancellationToken.None)); // a redelivery
        Assert.Equal(["m0", "m1", "m2"], (await inbox.GetUnprocessedAsync(["ehr1", "ehr2"], DateTimeOffset.UtcNow, 10, CancellationToken.None)).Select(r => r.Key).Order());
        Assert.Equal(["m0"], (await inbox.GetUnprocessedAsync(["ehr1"], at.AddSeconds(1), 10, CancellationToken.None)).Select(r => r.Key));
        Assert.Empty(await inbox.GetUnprocessedAsync(["ehr2"], DateTimeOffset.UtcNow, 10, CancellationToken.None));
        Assert.True(await inbox.HasUnprocessedAsync("ehr1", at.AddSeconds(2), at.AddSeconds(3), CancellationToken.None));
        Assert.False(await inbox.HasUnprocessedAsync("ehr1", at.AddSeconds(3), DateTimeOffset.UtcNow, CancellationToken.None));

        await Task.WhenAll(rows.Take(2).Select(r => inbox.MarkProcessedAsync(r, DateTimeOffset.UtcNow, CancellationToken.None)));
        Assert.Equal(["m2"], (await inbox.GetUnprocessedAsync(["ehr1"], DateTimeOffset.UtcNow, 10, CancellationToken.None)).Select(r => r.Key));
        await inbox.MarkProcessedAsync(rows[2], DateTimeOffset.UtcNow, CancellationToken.None);
        Assert.Empty(await inbox.GetUnprocessedAsync(["ehr1"], DateTimeOffset.UtcNow, 10, CancellationToken.None));
        Assert.False(await inbox.HasUnprocessedAsync("ehr1", at.AddMinutes(-1), DateTimeOffset.UtcNow, CancellationToken.None));
        Assert.Empty(await MarkersAsync(options.Value.StoragePrefix));
    }

    [Fact]
    public async Task Rows_from_before_the_markers_get_theirs_once_and_a_marker_left_by_a_crash_is_cleared()
    {
        var options = Options.Create(new IntakeOptions { StoragePrefix = IntakeFixture.NewPrefix() });
        var table = IntakeFixture.Table(options.Value.StoragePrefix, "Inbox");
        await table.CreateIfNotExistsAsync();
        var at = DateTimeOffset.UtcNow.AddMinutes(-5);

        // Written by the version before the markers: one row pending, one processed, no markers.
        await table.AddEntityAsync(new TableEntity("ehr1", "old-pending") { ["Kind"] = InboxKinds.Notification, ["Status"] = InboxStore.Pending, ["ReceivedAt"] = at, ["Body"] = "{}"u8.ToArray() });
        await table.AddEntityAsync(new TableEntity("ehr1", "old-done") { ["Kind"] = InboxKinds.Notification, ["Status"] = InboxStore.Processed, ["ReceivedAt"] = at });
        var inbox = new InboxStore(new IntakeStorage(TestEnvironment.StorageClients()), options);
        var found = await inbox.GetUnprocessedAsync(["ehr1"], DateTimeOffset.UtcNow, 10, CancellationToken.None);
        Assert.Equal(["old-pending"], found.Select(r => r.Key));
        Assert.Equal([InboxStore.PendingPrefix + "old-pending"], await MarkersAsync(options.Value.StoragePrefix));

        // A crash between the row's mark and its marker's deletion: the marker stays behind, the row is processed.
        await inbox.MarkProcessedAsync(found[0], DateTimeOffset.UtcNow, CancellationToken.None);
        Assert.Empty(await MarkersAsync(options.Value.StoragePrefix));
        var fresh = new InboxItem("ehr1", "crashed", InboxKinds.Notification, at, false, null, null, null, null, null, null);
        Assert.True(await inbox.AddAsync(fresh, "{}"u8.ToArray(), CancellationToken.None));
        await table.UpdateEntityAsync(new TableEntity("ehr1", "crashed") { ["Status"] = InboxStore.Processed }, Azure.ETag.All, TableUpdateMode.Merge);
        Assert.Equal([InboxStore.PendingPrefix + "crashed"], await MarkersAsync(options.Value.StoragePrefix));

        // Another process (the upgrade is recorded, not repeated): nothing unprocessed, and the stale marker is gone.
        var later = new InboxStore(new IntakeStorage(TestEnvironment.StorageClients()), options);
        Assert.Empty(await later.GetUnprocessedAsync(["ehr1"], DateTimeOffset.UtcNow, 10, CancellationToken.None));
        Assert.Empty(await MarkersAsync(options.Value.StoragePrefix));
        Assert.False(await later.HasUnprocessedAsync("ehr1", at.AddMinutes(-1), DateTimeOffset.UtcNow, CancellationToken.None));
    }

    private static async Task<List<string>> MarkersAsync(string prefix) =>
        await IntakeFixture.Table(prefix, "Inbox").QueryAsync<TableEntity>(e => e.PartitionKey == "ehr1").Where(e => InboxStore.IsPendingMarker(e.RowKey)).Select(e => e.RowKey).ToListAsync();
}
