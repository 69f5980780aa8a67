using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Azure.Data.Tables;
using Engagement.Measures;
using Engagement.Measures.AzureStorage;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Engagement.Measures.Benchmarks;

/// <summary>
/// Records the generated population into the table the host reads, through the product's recorder
/// (<see cref="TableEngagementStore"/>): the runs' cohorts with <c>RememberRunAsync</c>, then the first
/// <c>--single</c> events with <c>RecordAsync</c> one at a time (runs in parallel, as the engine and the gateway would
/// call it; timed, for the write path's rate), the rest with <c>RecordManyAsync</c> per (day, protocol) partition.
/// Acknowledgements go last, after the red flags and escalations they close. Writes the expected counts to
/// <c>--expected</c>.
/// </summary>
internal static class Seeder
{
    public static async Task<int> RunAsync(IReadOnlyDictionary<string, string> options)
    {
        var store = Store(options, out _);
        var patients = Int(options, "patients", 30_000);
        var responses = Int(options, "responses", 100_000);
        var single = Int(options, "single", 5_000);
        var parallel = Int(options, "parallel", 8);
        var clock = Stopwatch.StartNew();
        var population = Population.Generate(patients, responses);
        var events = population.Runs.Sum(r => r.Events.Count);
        Console.WriteLine($"population: {population.Runs.Count:N0} runs, {population.Runs.Select(r => r.Patient).Distinct().Count():N0} patients, {events:N0} events ({clock.Elapsed.TotalSeconds:F1} s to generate)");
        foreach (var kind in population.Runs.SelectMany(r => r.Events).GroupBy(e => e.Kind).OrderByDescending(g => g.Count()))
        {
            Console.WriteLine($"  {kind.Key,-24} {kind.Count(),9:N0}");
        }

        var partitions = population.Runs.SelectMany(r => r.Events.Select(e => (r.Cohort.Protocol, Day: DateOnly.FromDateTime(e.OccurredAt.UtcDateTime)))).Distinct().ToList();
        var months = partitions.Select(p => (p.Protocol, p.Day.Year, p.Day.Month)).Distinct().ToList();
        Console.WriteLine($"aggregate rows: {months.Count:N0} month rows ((month, protocol) partitions: {months.Count(m => m.Month == 6):N0} in June, "
            + $"{months.Count(m => m.Protocol == "heart-failure-discharge"):N0} of heart-failure-discharge) and {partitions.Count:N0} day rows; score-trend patient rows (patient × protocol × questionnaire): "
            + $"{population.Expected.ScoredPatients.Sum(p => p.Value.Count):N0}; open escalations and red flags: {population.Expected.OpenItems:N0}");
        if (options.ContainsKey("dry-run"))
        {
            return 0;
        }

        clock.Restart();
        await Parallel.ForEachAsync(population.Runs, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (run, ct) =>
            await store.RememberRunAsync(run.InstanceId, run.Cohort, ct));
        Console.WriteLine($"RememberRunAsync: {population.Runs.Count:N0} runs in {clock.Elapsed.TotalSeconds:F1} s");

        // The write path as production drives it: one RecordAsync per event, runs concurrently, each run in time order.
        var singleRuns = new List<SeedRun>();
        for (var i = 0; i < population.Runs.Count && singleRuns.Sum(r => r.Events.Count) < single; i++)
        {
            singleRuns.Add(population.Runs[i]);
        }

        var singleEvents = singleRuns.Sum(r => r.Events.Count);
        clock.Restart();
        await Parallel.ForEachAsync(singleRuns, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (run, ct) =>
        {
            foreach (var e in run.Events.OrderBy(e => e.OccurredAt))
            {
                await store.RecordAsync(e, ct);
            }
        });
        var singleSeconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"RecordAsync (one event per call, 16 runs at a time): {singleEvents:N0} events in {singleSeconds:F1} s = {singleEvents / singleSeconds:F0} events/s");

        // The rest in batches: per (month, protocol) partition, partitions in parallel; acknowledgements after what they close.
        var rest = population.Runs.Skip(singleRuns.Count).SelectMany(r => r.Events.Select(e => (r.Cohort.Protocol, Event: e))).ToList();
        clock.Restart();
        var recorded = 0;
        foreach (var pass in rest.GroupBy(t => t.Event.Kind is EngagementEventKinds.RedFlagAcknowledged or EngagementEventKinds.EscalationAcknowledged).OrderBy(g => g.Key))
        {
            var chunks = pass.GroupBy(t => (t.Protocol, t.Event.OccurredAt.UtcDateTime.Year, t.Event.OccurredAt.UtcDateTime.Month))
                .SelectMany(g => g.Select(t => t.Event).OrderBy(e => e.OccurredAt).Chunk(2_000)).ToList();
            var done = 0;
            await Parallel.ForEachAsync(chunks, new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (list, ct) =>
            {
                var total = Interlocked.Add(ref recorded, await store.RecordManyAsync(list, ct));
                if (Interlocked.Increment(ref done) % 25 == 0)
                {
                    Console.WriteLine($"  {total:N0} events recorded, {clock.Elapsed.TotalSeconds:F0} s, {total / clock.Elapsed.TotalSeconds:F0} events/s, load average {File.ReadAllText("/proc/loadavg")[..14]}");
                }
            });
        }

        var batchSeconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine($"RecordManyAsync (2,000 events of one month and protocol per call, {parallel} calls at a time): {recorded:N0} of {rest.Count:N0} events in {batchSeconds:F1} s = {rest.Count / batchSeconds:F0} events/s");
        if (recorded != rest.Count)
        {
            Console.Error.WriteLine("Some events were not recorded as new: the table was not empty.");
            return 1;
        }

        await File.WriteAllTextAsync(options["expected"], JsonSerializer.Serialize(new
        {
            population.Expected.Counts,
            ScoredPatients = population.Expected.ScoredPatients.ToDictionary(p => p.Key, p => p.Value.Count, StringComparer.Ordinal),
            population.Expected.OpenItems,
            Runs = population.Runs.Count,
            Events = events,
            MonthRows = months.Count,
            DayRows = partitions.Count,
        }));
        return 0;
    }

    /// <summary>
    /// Azurite's own cost for the read: <c>--reads</c> point reads (what the year's report makes: the index row and one
    /// month row per (month, protocol)) of copies of a real month row, in the same table, sequentially and 16 at a time,
    /// <c>--times</c> times; and one query of a partition that holds a single row (Azurite filters every query over the
    /// whole table).
    /// </summary>
    public static async Task<int> ScanBaselineAsync(IReadOnlyDictionary<string, string> options)
    {
        Store(options, out var storage);
        var table = storage.Tables.GetTableClient(options["table"]);
        var reads = Int(options, "reads", 49);
        var times = Int(options, "times", 10);
        const string pk = "~baseline";
        TableEntity? month = null;
        await foreach (var row in table.QueryAsync<TableEntity>("RowKey eq 'm'", maxPerPage: 1))
        {
            month = row;
            break;
        }

        if (month is null)
        {
            Console.Error.WriteLine("no month row to copy");
            return 1;
        }

        var size = month.Keys.Where(k => k.StartsWith("Data", StringComparison.Ordinal)).Sum(k => month.GetBinary(k)?.Length ?? 0);
        foreach (var chunk in Enumerable.Range(0, reads).Chunk(100))
        {
            await table.SubmitTransactionAsync(chunk.Select(i =>
            {
                var row = new TableEntity(pk, "m" + i.ToString("D5", CultureInfo.InvariantCulture));
                foreach (var (key, value) in month)
                {
                    if (key is not ("PartitionKey" or "RowKey" or "Timestamp" or "odata.etag"))
                    {
                        row[key] = value;
                    }
                }

                return new TableTransactionAction(TableTransactionActionType.UpsertReplace, row);
            }));
        }

        var sequential = new List<double>();
        var parallel = new List<double>();
        var query = new List<double>();
        for (var i = 0; i < times; i++)
        {
            var clock = Stopwatch.StartNew();
            for (var r = 0; r < reads; r++)
            {
                await table.GetEntityAsync<TableEntity>(pk, "m" + r.ToString("D5", CultureInfo.InvariantCulture));
            }

            sequential.Add(clock.Elapsed.TotalMilliseconds);
            clock.Restart();
            await Parallel.ForEachAsync(Enumerable.Range(0, reads), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (r, ct) =>
                await table.GetEntityAsync<TableEntity>(pk, "m" + r.ToString("D5", CultureInfo.InvariantCulture), cancellationToken: ct));
            parallel.Add(clock.Elapsed.TotalMilliseconds);
            clock.Restart();
            await foreach (var _ in table.QueryAsync<TableEntity>($"PartitionKey eq '{pk}' and RowKey eq 'm00000'"))
            {
            }

            query.Add(clock.Elapsed.TotalMilliseconds);
        }

        Console.WriteLine($"baseline (Azurite, the seeded table): {reads} point reads of a month row ({size:N0} bytes of aggregates): "
            + $"one after another {QueryClient.Summary(sequential)}; 16 at a time {QueryClient.Summary(parallel)}; a query returning 1 row: {QueryClient.Summary(query)}");
        return 0;
    }

    private static TableEngagementStore Store(IReadOnlyDictionary<string, string> options, out StorageClients storage)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = options["storage"],
        }).Build();
        storage = new StorageClients(configuration);
        return new TableEngagementStore(storage, Options.Create(new MeasuresOptions { TableName = options["table"] }));
    }

    private static int Int(IReadOnlyDictionary<string, string> options, string name, int fallback) =>
        options.TryGetValue(name, out var value) ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;
}
