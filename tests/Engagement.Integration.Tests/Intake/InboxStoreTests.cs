using Azure.Data.Tables;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Intake;
using Microsoft.Extensions.Options;

namespace Engagement.Integration.Tests.Intake;

/// <summary>
/// Marking inbox rows processed: marks of one partition that meet in this process go out together (one transaction), and
/// each caller returns only once its row is marked. A row that cannot be marked fails only its own caller. A marked row
/// keeps no body.
/// </summary>
public sealed class InboxStoreTests
{
    [Fact]
    public async Task Concurrent_marks_all_land_and_a_missing_row_fails_only_its_own_caller()
    {
        var options = Options.Create(new IntakeOptions { StoragePrefix = IntakeFixture.NewPrefix() });
        var inbox = new InboxStore(TestEnvironment.StorageClients(), options);
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
        var other = new InboxStore(TestEnvironment.StorageClients(), options);
        foreach (var row in rows)
        {
            var stored = (await other.GetAsync("ehr1", row.Key, CancellationToken.None))!;
            Assert.True(stored.Processed);
            Assert.Empty(stored.InlineBody!);
        }

        Assert.Null(await other.GetAsync("ehr1", "never-stored", CancellationToken.None));
        Assert.Empty(await other.GetUnprocessedAsync(DateTimeOffset.UtcNow, 10, CancellationToken.None));
    }

    [Fact]
    public async Task Rows_are_spread_over_the_source_s_partitions_and_a_row_of_the_earlier_single_partition_is_still_read_counted_and_marked()
    {
        var options = Options.Create(new IntakeOptions { StoragePrefix = IntakeFixture.NewPrefix() });
        var inbox = new InboxStore(TestEnvironment.StorageClients(), options);
        var table = IntakeFixture.Table(options.Value.StoragePrefix, "Inbox");
        var now = new DateTimeOffset(2026, 12, 7, 8, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < 32; i++)
        {
            Assert.True(await inbox.AddAsync(new InboxItem("ehr1", $"k{i:D3}", InboxKinds.Notification, now, false, null, null, null, null, null, null), "{}"u8.ToArray(), CancellationToken.None));
        }

        // Spread over the source's buckets, not one partition per source; a redelivery meets its row.
        var partitions = (await table.QueryAsync<TableEntity>().ToListAsync()).Select(r => r.PartitionKey).Distinct().ToList();
        Assert.Equal(IntakeKeys.Buckets, partitions.Count);
        Assert.All(partitions, p => Assert.StartsWith("ehr1|", p, StringComparison.Ordinal));
        Assert.False(await inbox.AddAsync(new InboxItem("ehr1", "k007", InboxKinds.Notification, now, false, null, null, null, null, null, null), "{}"u8.ToArray(), CancellationToken.None));

        // A row an earlier version wrote, partitioned by the source alone, and a pending row of another source whose
        // name starts with this one's: the first is found, counted and marked in place; the second is not this source's.
        await table.AddEntityAsync(new TableEntity("ehr1", "legacy") { ["Kind"] = InboxKinds.Notification, ["Status"] = InboxStore.Pending, ["ReceivedAt"] = now.AddMinutes(-30), ["Body"] = "{}"u8.ToArray() });
        Assert.True(await inbox.AddAsync(new InboxItem("ehr10", "other", InboxKinds.Notification, now.AddMinutes(-30), false, null, null, null, null, null, null), "{}"u8.ToArray(), CancellationToken.None));
        var legacy = await inbox.GetAsync("ehr1", "legacy", CancellationToken.None);
        Assert.NotNull(legacy);
        Assert.Equal("ehr1", legacy.Source);
        Assert.False(legacy.Processed);
        Assert.True(await inbox.HasUnprocessedAsync("ehr1", now.AddMinutes(-40), now.AddMinutes(-20), CancellationToken.None));

        await inbox.MarkProcessedAsync(legacy, now, CancellationToken.None);
        Assert.True((await inbox.GetAsync("ehr1", "legacy", CancellationToken.None))!.Processed);
        Assert.Single(await table.QueryAsync<TableEntity>(e => e.RowKey == "legacy").ToListAsync());
        Assert.False(await inbox.HasUnprocessedAsync("ehr1", now.AddMinutes(-40), now.AddMinutes(-20), CancellationToken.None));
        Assert.True(await inbox.HasUnprocessedAsync("ehr10", now.AddMinutes(-40), now.AddMinutes(-20), CancellationToken.None));
    }
}
