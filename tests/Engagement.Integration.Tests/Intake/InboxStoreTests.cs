using Azure.Data.Tables;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Intake;
using Microsoft.Extensions.Options;

namespace Engagement.Integration.Tests.Intake;

/// <summary>
/// Marking inbox rows processed: marks of one source that meet in this process go out together (one transaction), and
/// each caller returns only once its row is marked. A row that cannot be marked fails only its own caller. A marked row
/// keeps no body.
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
}
