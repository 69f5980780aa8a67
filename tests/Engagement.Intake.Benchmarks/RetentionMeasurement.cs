using System.Diagnostics;
using System.Globalization;
using Azure.Data.Tables;
using Engagement.Intake;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Engagement.Intake.Benchmarks;

/// <summary>
/// `retention N`: what the intake retention sweep costs and what it saves, on the storage <c>AzureWebJobsStorage</c>
/// names (scripts/measure-retention.sh starts a fresh in-memory Azurite for each size). One source's inbox gets N rows
/// processed 8 days ago (past the default 7-day retention), N processed an hour ago and 100 pending. Measured on the
/// same table, before and after one pass (<see cref="InboxStore.DeleteProcessedBeforeAsync"/>): the backstop scan
/// (<see cref="InboxStore.GetUnprocessedKeysAsync"/>, median of 3) and a single inbox insert (median of 101), and the
/// pass itself. Prints one line per measurement (docs/performance.md).
/// </summary>
public static class RetentionMeasurement
{
    public static async Task<int> RunAsync(string[] args)
    {
        var n = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 50_000;
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var options = Options.Create(new IntakeOptions { StoragePrefix = "Retention" + Guid.NewGuid().ToString("N")[..8] });
        var clients = new StorageClients(configuration);
        var inbox = new InboxStore(new IntakeStorage(clients), options);
        var table = clients.Tables.GetTableClient(options.Value.StoragePrefix + "Inbox");
        await table.CreateIfNotExistsAsync();
        var now = TimeProvider.System.GetUtcNow();

        var clock = Stopwatch.StartNew();
        await FillAsync(table, "expired", n, now.AddDays(-8));
        await FillAsync(table, "kept", n, now.AddHours(-1));
        await FillAsync(table, "pending", 100, null);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"retention N={n}: filled {(2 * n) + 100} rows in {clock.Elapsed.TotalSeconds:0.0} s"));

        var (scan, insert) = (await ScanAsync(inbox), await InsertAsync(table, "before"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"retention N={n}: before: backstop scan {scan:0} ms, insert p50 {insert:0.00} ms ({(2 * n) + 100} rows)"));
        clock.Restart();
        var deleted = await inbox.DeleteProcessedBeforeAsync(now.AddDays(-7), CancellationToken.None);
        var seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"retention N={n}: pass deleted {deleted} rows in {seconds:0.0} s ({deleted / seconds:0} rows/s)"));
        clock.Restart();
        var again = await inbox.DeleteProcessedBeforeAsync(now.AddDays(-7), CancellationToken.None);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"retention N={n}: next pass deleted {again} rows in {clock.Elapsed.TotalMilliseconds:0} ms"));
        (scan, insert) = (await ScanAsync(inbox), await InsertAsync(table, "after"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"retention N={n}: after: backstop scan {scan:0} ms, insert p50 {insert:0.00} ms ({n + 100 + 202} rows)"));
        return deleted == n ? 0 : 1;
    }

    private static async Task FillAsync(TableClient table, string tag, int count, DateTimeOffset? processedAt)
    {
        foreach (var chunk in Enumerable.Range(0, count).Chunk(100))
        {
            await table.SubmitTransactionAsync(chunk.Select(i => new TableTransactionAction(TableTransactionActionType.Add, new TableEntity("load", $"{tag}{i:D8}")
            {
                ["Kind"] = InboxKinds.Notification,
                ["Status"] = processedAt is null ? InboxStore.Pending : InboxStore.Processed,
                ["ReceivedAt"] = processedAt ?? TimeProvider.System.GetUtcNow().AddHours(-1),
                ["ProcessedAt"] = processedAt,
                ["Body"] = Array.Empty<byte>(),
            })));
        }
    }

    private static async Task<double> ScanAsync(InboxStore inbox)
    {
        var times = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            var clock = Stopwatch.StartNew();
            await inbox.GetUnprocessedKeysAsync(TimeProvider.System.GetUtcNow(), IntakeSweeper.MaxPerScan, CancellationToken.None);
            times.Add(clock.Elapsed.TotalMilliseconds);
        }

        return times.Order().ElementAt(1);
    }

    private static async Task<double> InsertAsync(TableClient table, string tag)
    {
        var times = new List<double>();
        for (var i = 0; i < 101; i++)
        {
            var clock = Stopwatch.StartNew();
            await table.AddEntityAsync(new TableEntity("load", $"{tag}{Guid.NewGuid():N}") { ["Kind"] = InboxKinds.Notification, ["Status"] = InboxStore.Pending, ["ReceivedAt"] = TimeProvider.System.GetUtcNow() });
            times.Add(clock.Elapsed.TotalMilliseconds);
        }

        return times.Order().ElementAt(50);
    }
}
