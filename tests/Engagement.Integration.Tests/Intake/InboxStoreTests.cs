using Azure.Data.Tables;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Intake;
using Microsoft.Extensions.Options;

namespace Engagement.Integration.Tests.Intake;

/// <summary>
/// Marking inbox rows processed: marks of one source that meet in this process go out together (one transaction), and
/// each caller returns only once its row is marked. A row that cannot be marked fails only its own caller. A marked row
/// keeps no body. Retention deletes processed rows past the cutoff, with their blobs, and nothing pending.
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
        Assert.Empty(await other.GetUnprocessedKeysAsync(DateTimeOffset.UtcNow, 10, CancellationToken.None));
    }

    [Fact]
    public async Task Retention_deletes_rows_processed_before_the_cutoff_with_their_blobs_and_keeps_pending_and_newer_rows()
    {
        var options = Options.Create(new IntakeOptions { StoragePrefix = IntakeFixture.NewPrefix() });
        var storage = new IntakeStorage(TestEnvironment.StorageClients());
        var inbox = new InboxStore(storage, options);
        var now = TimeProvider.System.GetUtcNow();
        var cutoff = now.AddHours(-1);
        async Task<InboxItem> AddAsync(string source, string key, byte[] body, DateTimeOffset? processedAt)
        {
            var row = new InboxItem(source, key, InboxKinds.Notification, now.AddDays(-2), false, null, null, null, null, null, null);
            Assert.True(await inbox.AddAsync(row, body, CancellationToken.None));
            if (processedAt is { } at)
            {
                await inbox.MarkProcessedAsync(row, at, CancellationToken.None);
            }

            return row;
        }

        // 130 expired rows in one source (more than one transaction's 100), one in another, one of them with its body in a blob.
        var expired = new List<InboxItem>();
        for (var i = 0; i < 130; i++)
        {
            expired.Add(await AddAsync("ehr1", $"old{i:D3}", "{}"u8.ToArray(), cutoff.AddMinutes(-1 - i)));
        }

        expired.Add(await AddAsync("ehr2", "old-large", new byte[InboxStore.InlineLimit + 1], cutoff.AddDays(-1)));
        var container = storage.Clients.Blobs.GetBlobContainerClient(options.Value.StoragePrefix.ToLowerInvariant() + "-inbox");
        Assert.True(await container.GetBlobClient("ehr2/old-large.json").ExistsAsync());
        var newer = await AddAsync("ehr1", "newer", "{}"u8.ToArray(), cutoff.AddMinutes(1));
        var pending = await AddAsync("ehr1", "pending", "{}"u8.ToArray(), null); // acknowledged two days ago, never processed

        Assert.Equal(131, await inbox.DeleteProcessedBeforeAsync(cutoff, CancellationToken.None));

        foreach (var row in expired)
        {
            Assert.Null(await inbox.GetAsync(row.Source, row.Key, CancellationToken.None));
        }

        Assert.False(await container.GetBlobClient("ehr2/old-large.json").ExistsAsync());
        Assert.True((await inbox.GetAsync("ehr1", newer.Key, CancellationToken.None))!.Processed);
        Assert.False((await inbox.GetAsync("ehr1", pending.Key, CancellationToken.None))!.Processed);
        Assert.Equal(0, await inbox.DeleteProcessedBeforeAsync(cutoff, CancellationToken.None));

        // A delivery whose row is gone is a new delivery again.
        Assert.True(await inbox.AddAsync(expired[0], "{}"u8.ToArray(), CancellationToken.None));
    }
}
