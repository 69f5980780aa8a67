using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Options;

namespace Engagement.Measures.AzureStorage;

/// <summary>
/// The engagement event log and its aggregates in one table (<see cref="MeasuresOptions.TableName"/>), laid out so that
/// recording is one atomic entity-group transaction and reading never touches the events:
/// <list type="bullet">
/// <item>partition <c>d{yyyyMMdd}|{protocol}</c>: event rows <c>e|{eventId}</c> (append-only; the row key is the event
/// id, so a repeat fails the transaction and counts nothing) and bucket rows <c>b|{questionnaire}|{age}|{lang}|{channel}</c>
/// (counters and histograms), written together in one transaction with the bucket's ETag;</item>
/// <item>partition <c>days</c>: one row per (day, protocol) partition that has data, so a query lists the partitions of
/// a period without a scan;</item>
/// <item>partition <c>run</c>: a follow-up run's protocol and cohort; <c>open</c>: raised escalations and red flags not
/// yet acknowledged; <c>score|{questionnaire}</c>: each patient's first and last score.</item>
/// </list>
/// See docs/measures.md.
/// </summary>
public sealed class TableEngagementStore(StorageClients storage, IOptions<MeasuresOptions> options) : IEngagementRecorder
{
    private const string None = "-";
    private const int MaxRemembered = 100_000;
    private readonly TableClient table = storage.Tables.GetTableClient(options.Value.TableName);
    private readonly ConcurrentDictionary<string, bool> knownPartitions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RunCohort> runs = new(StringComparer.Ordinal);

    /// <summary>
    /// Events this process has recorded (or found recorded), by partition and id: a repeat is answered without storage.
    /// The follow-up's send step records its run's <c>engaged</c> event at every send (counted once); without this
    /// each repeat cost a bucket read, a failing transaction and an event read (docs/performance.md, storage
    /// operations per step). Bounded: cleared when it grows past <see cref="MaxRemembered"/>, after which a repeat
    /// falls back to the table's own de-duplication.
    /// </summary>
    private readonly ConcurrentDictionary<string, bool> remembered = new(StringComparer.Ordinal);
    private volatile bool created;

    public async Task RememberRunAsync(string instanceId, RunCohort cohort, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cohort);
        await EnsureTableAsync(cancellationToken);
        if (runs.TryGetValue(instanceId, out var known) && known == cohort)
        {
            return;
        }

        await table.UpsertEntityAsync(new TableEntity("run", Key(instanceId))
        {
            ["Protocol"] = cohort.Protocol,
            ["AgeBand"] = cohort.AgeBand,
            ["Language"] = cohort.Language,
            ["Channel"] = cohort.Channel,
        }, TableUpdateMode.Replace, cancellationToken);
        runs[instanceId] = cohort;
    }

    public async Task<bool> RecordAsync(EngagementEvent engagementEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(engagementEvent);
        CheckKind(engagementEvent);
        await EnsureTableAsync(cancellationToken);
        var e = await CompleteAsync(engagementEvent, cancellationToken);
        if (!await CommitAsync(e, cancellationToken))
        {
            return false;
        }

        await AfterRecordAsync(e, cancellationToken);
        return true;
    }

    /// <summary>
    /// Records many events with the same outcome as <see cref="RecordAsync"/> called for each in turn, in fewer storage
    /// operations: the events of one bucket go in entity-group transactions of up to 99 event rows plus the bucket row
    /// (one bucket read and one transaction per chunk instead of per event). A chunk whose transaction fails (an event
    /// recorded before or repeated in the input, a lost bucket race) is recorded event by event, exactly as
    /// <see cref="RecordAsync"/> decides it. For backfills and the measures benchmark's seeding. Returns how many events
    /// were newly recorded.
    /// </summary>
    public async Task<int> RecordManyAsync(IEnumerable<EngagementEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        await EnsureTableAsync(cancellationToken);
        var completed = new List<EngagementEvent>();
        foreach (var engagementEvent in events)
        {
            CheckKind(engagementEvent);
            completed.Add(await CompleteAsync(engagementEvent, cancellationToken));
        }

        var recorded = new HashSet<EngagementEvent>(ReferenceEqualityComparer.Instance);
        foreach (var chunk in completed
            .GroupBy(e => (Day: DayOf(e.OccurredAt), e.Protocol, Bucket: BucketKey(e.Questionnaire!, e.AgeBand!, e.Language!, e.Channel!)))
            .SelectMany(g => g.Chunk(99)))
        {
            var first = chunk[0];
            var day = DayOf(first.OccurredAt);
            var partition = Partition(day, first.Protocol!);
            await RememberPartitionAsync(day, first.Protocol!, cancellationToken);
            var bucketKey = BucketKey(first.Questionnaire!, first.AgeBand!, first.Language!, first.Channel!);
            var existing = await table.GetEntityIfExistsAsync<TableEntity>(partition, bucketKey, cancellationToken: cancellationToken);
            var bucket = existing.HasValue ? ReadBucket(existing.Value!) : new EngagementBucket();
            var actions = new List<TableTransactionAction>(chunk.Length + 1);
            foreach (var e in chunk)
            {
                bucket.Apply(e);
                actions.Add(new(TableTransactionActionType.Add, EventRow(e, partition)));
            }

            var row = WriteBucket(bucket, partition, bucketKey, first);
            actions.Add(existing.HasValue ? new(TableTransactionActionType.UpdateReplace, row, existing.Value!.ETag) : new(TableTransactionActionType.Add, row));
            try
            {
                await table.SubmitTransactionAsync(actions, cancellationToken);
                recorded.UnionWith(chunk);
                foreach (var e in chunk)
                {
                    Remember(Memo(partition, e));
                }
            }
            catch (TableTransactionFailedException ex) when (ex.Status is (int)HttpStatusCode.Conflict or (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.BadRequest or (int)HttpStatusCode.NotFound)
            {
                foreach (var e in chunk)
                {
                    if (await CommitAsync(e, cancellationToken))
                    {
                        recorded.Add(e);
                    }
                }
            }
        }

        foreach (var e in completed.Where(recorded.Contains))
        {
            await AfterRecordAsync(e, cancellationToken);
        }

        return recorded.Count;
    }

    /// <summary>The event row and its bucket change in one transaction; false when the event was recorded before.</summary>
    private async Task<bool> CommitAsync(EngagementEvent e, CancellationToken cancellationToken)
    {
        var day = DayOf(e.OccurredAt);
        var partition = Partition(day, e.Protocol!);
        var memo = Memo(partition, e);
        if (remembered.ContainsKey(memo))
        {
            return false; // recorded before by this process
        }

        await RememberPartitionAsync(day, e.Protocol!, cancellationToken);
        var eventRow = EventRow(e, partition);
        var bucketKey = BucketKey(e.Questionnaire!, e.AgeBand!, e.Language!, e.Channel!);
        for (var attempt = 0; ; attempt++)
        {
            var existing = await table.GetEntityIfExistsAsync<TableEntity>(partition, bucketKey, cancellationToken: cancellationToken);
            var bucket = existing.HasValue ? ReadBucket(existing.Value!) : new EngagementBucket();
            bucket.Apply(e);
            var row = WriteBucket(bucket, partition, bucketKey, e);
            TableTransactionAction bucketAction = existing.HasValue
                ? new(TableTransactionActionType.UpdateReplace, row, existing.Value!.ETag)
                : new(TableTransactionActionType.Add, row);
            try
            {
                await table.SubmitTransactionAsync([new(TableTransactionActionType.Add, eventRow), bucketAction], cancellationToken);
                Remember(memo);
                return true;
            }
            catch (TableTransactionFailedException ex) when (ex.Status is (int)HttpStatusCode.Conflict or (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.BadRequest or (int)HttpStatusCode.NotFound)
            {
                if ((await table.GetEntityIfExistsAsync<TableEntity>(partition, eventRow.RowKey, ["Kind"], cancellationToken)).HasValue)
                {
                    Remember(memo);
                    return false; // recorded before: a retry or a redelivery
                }

                if (attempt >= 20)
                {
                    throw;
                }

                await Task.Delay(Random.Shared.Next(5, 50) * (attempt + 1), cancellationToken); // lost the bucket race: read again
            }
        }
    }

    private static void CheckKind(EngagementEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (!EngagementEventKinds.IsKnown(e.Kind))
        {
            throw new ArgumentException($"Unknown engagement event kind '{e.Kind}'.", nameof(e));
        }
    }

    private static TableEntity EventRow(EngagementEvent e, string partition) => new(partition, "e|" + Key(e.Id))
    {
        ["Kind"] = e.Kind,
        ["OccurredAt"] = e.OccurredAt,
        ["InstanceId"] = e.InstanceId,
        ["Questionnaire"] = e.Questionnaire,
        ["AgeBand"] = e.AgeBand,
        ["Language"] = e.Language,
        ["Channel"] = e.Channel,
        ["Minutes"] = e.Minutes,
        ["Score"] = e.Score is { } s ? (double)s : null,
        ["TaskId"] = e.TaskId,
    };

    private static string Memo(string partition, EngagementEvent e) => partition + "\u001f" + e.Id;

    private void Remember(string memo)
    {
        if (remembered.Count >= MaxRemembered)
        {
            remembered.Clear();
        }

        remembered[memo] = true;
    }

    /// <summary>Every bucket of the period (days <paramref name="from"/> to <paramref name="to"/> inclusive), optionally one protocol.</summary>
    public async Task<IReadOnlyList<BucketRow>> ReadBucketsAsync(DateOnly from, DateOnly to, string? protocol, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var low = Day(from);
        var high = Day(to.AddDays(1));
        var partitions = new List<(string Day, string Protocol)>();
        await foreach (var row in table.QueryAsync<TableEntity>(
            $"PartitionKey eq 'days' and RowKey ge '{low}' and RowKey lt '{high}'", select: ["RowKey"], cancellationToken: cancellationToken))
        {
            var parts = row.RowKey.Split('|', 2);
            if (protocol is null || parts[1] == protocol)
            {
                partitions.Add((parts[0], parts[1]));
            }
        }

        var rows = new ConcurrentBag<BucketRow>();
        await Parallel.ForEachAsync(partitions, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (p, ct) =>
        {
            var pk = Partition(p.Day, p.Protocol);
            await foreach (var row in table.QueryAsync<TableEntity>($"PartitionKey eq '{Escape(pk)}' and RowKey ge 'b|' and RowKey lt 'b}}'", cancellationToken: ct))
            {
                rows.Add(new BucketRow(
                    DateOnly.ParseExact(p.Day[1..], "yyyyMMdd", CultureInfo.InvariantCulture),
                    p.Protocol,
                    row.GetString("Questionnaire") ?? None,
                    row.GetString("AgeBand") ?? Cohorts.Unknown,
                    row.GetString("Language") ?? Cohorts.Unknown,
                    row.GetString("Channel") ?? Cohorts.Unknown,
                    ReadBucket(row)));
            }
        });
        return [.. rows];
    }

    /// <summary>The baseline the aggregates are measured against: every event row of the period, counted per request.</summary>
    public async Task<EngagementBucket> ScanEventsAsync(DateOnly from, DateOnly to, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var total = new EngagementBucket();
        await foreach (var row in table.QueryAsync<TableEntity>(
            $"PartitionKey ge '{Day(from)}' and PartitionKey lt '{Day(to.AddDays(1))}' and RowKey ge 'e|' and RowKey lt 'e}}'", cancellationToken: cancellationToken))
        {
            total.Apply(new EngagementEvent
            {
                Id = row.RowKey,
                Kind = row.GetString("Kind") ?? EngagementEventKinds.MessageSent,
                OccurredAt = row.GetDateTimeOffset("OccurredAt") ?? default,
                Minutes = row.GetDouble("Minutes"),
                Score = row.GetDouble("Score") is { } s ? (decimal)s : null,
            });
        }

        return total;
    }

    /// <summary>Raised escalations and red flags whose Task nobody has acknowledged yet.</summary>
    public async Task<IReadOnlyList<OpenItem>> OpenItemsAsync(string? protocol, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var items = new List<OpenItem>();
        await foreach (var row in table.QueryAsync<TableEntity>(e => e.PartitionKey == "open", cancellationToken: cancellationToken))
        {
            var item = new OpenItem(row.RowKey, row.GetString("Kind") ?? "", row.GetString("Protocol") ?? None,
                row.GetDateTimeOffset("RaisedAt") ?? default, row.GetString("InstanceId"), row.GetString("AgeBand"), row.GetString("Language"), row.GetString("Channel"));
            if (protocol is null || item.Protocol == protocol)
            {
                items.Add(item);
            }
        }

        return items;
    }

    public async Task CloseAsync(string taskId, CancellationToken cancellationToken)
    {
        try
        {
            await table.DeleteEntityAsync("open", Key(taskId), ETag.All, cancellationToken);
        }
        catch (RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.NotFound)
        {
        }
    }

    /// <summary>Each patient's first and last score per questionnaire (optionally one protocol).</summary>
    public async Task<IReadOnlyList<ScoreTrend>> ScoreTrendsAsync(string? protocol, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var trends = new List<ScoreTrend>();
        await foreach (var row in table.QueryAsync<TableEntity>("PartitionKey ge 'score|' and PartitionKey lt 'score}'", cancellationToken: cancellationToken))
        {
            var trend = new ScoreTrend(
                row.GetString("Protocol") ?? None, row.GetString("Questionnaire") ?? None, row.GetString("PatientId") ?? "",
                row.GetDateTimeOffset("FirstAt") ?? default, row.GetDouble("FirstScore") ?? 0,
                row.GetDateTimeOffset("LastAt") ?? default, row.GetDouble("LastScore") ?? 0, row.GetInt32("Responses") ?? 1);
            if (protocol is null || trend.Protocol == protocol)
            {
                trends.Add(trend);
            }
        }

        return trends;
    }

    /// <summary>Writes a bucket row directly (seeding the performance benchmark only).</summary>
    public async Task SeedAsync(DateOnly day, string protocol, string questionnaire, string ageBand, string language, string channel, EngagementBucket bucket, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(bucket);
        await EnsureTableAsync(cancellationToken);
        await RememberPartitionAsync(Day(day), protocol, cancellationToken);
        var pk = Partition(Day(day), protocol);
        var key = BucketKey(questionnaire, ageBand, language, channel);
        await table.UpsertEntityAsync(WriteBucket(bucket, pk, key, new EngagementEvent
        {
            Id = "seed", Kind = EngagementEventKinds.MessageSent, OccurredAt = default, Questionnaire = questionnaire, AgeBand = ageBand, Language = language, Channel = channel,
        }), TableUpdateMode.Replace, cancellationToken);
    }

    /// <summary>Writes event rows directly in batches of 100 (seeding the baseline of the benchmark only).</summary>
    public async Task SeedEventsAsync(DateOnly day, string protocol, IReadOnlyList<EngagementEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        await EnsureTableAsync(cancellationToken);
        var pk = Partition(Day(day), protocol);
        foreach (var chunk in events.Chunk(100))
        {
            await table.SubmitTransactionAsync(chunk.Select(e => new TableTransactionAction(TableTransactionActionType.UpsertReplace, new TableEntity(pk, "e|" + Key(e.Id))
            {
                ["Kind"] = e.Kind,
                ["OccurredAt"] = e.OccurredAt,
                ["Minutes"] = e.Minutes,
                ["Score"] = e.Score is { } s ? (double)s : null,
            })), cancellationToken);
        }
    }

    private async Task<EngagementEvent> CompleteAsync(EngagementEvent e, CancellationToken cancellationToken)
    {
        RunCohort? run = null;
        if (e.InstanceId is { } instanceId && (e.Protocol is null || e.AgeBand is null || e.Language is null || e.Channel is null))
        {
            if (!runs.TryGetValue(instanceId, out run))
            {
                var row = await table.GetEntityIfExistsAsync<TableEntity>("run", Key(instanceId), cancellationToken: cancellationToken);
                if (row.HasValue)
                {
                    run = new RunCohort(row.Value!.GetString("Protocol") ?? None, row.Value.GetString("AgeBand") ?? Cohorts.Unknown,
                        row.Value.GetString("Language") ?? Cohorts.Unknown, row.Value.GetString("Channel") ?? Cohorts.Unknown);
                    runs[instanceId] = run;
                }
            }
        }

        return e with
        {
            Protocol = e.Protocol ?? run?.Protocol ?? None,
            Questionnaire = string.IsNullOrEmpty(e.Questionnaire) ? None : e.Questionnaire.Split('|')[0],
            AgeBand = e.AgeBand ?? run?.AgeBand ?? Cohorts.Unknown,
            Language = e.Language ?? run?.Language ?? Cohorts.Unknown,
            Channel = e.Channel ?? run?.Channel ?? Cohorts.Unknown,
        };
    }

    private async Task AfterRecordAsync(EngagementEvent e, CancellationToken cancellationToken)
    {
        if (e.Kind is EngagementEventKinds.EscalationRaised or EngagementEventKinds.RedFlagRaised && e.TaskId is { } taskId)
        {
            await table.UpsertEntityAsync(new TableEntity("open", Key(taskId))
            {
                ["Kind"] = e.Kind,
                ["Protocol"] = e.Protocol,
                ["RaisedAt"] = e.OccurredAt,
                ["InstanceId"] = e.InstanceId,
                ["AgeBand"] = e.AgeBand,
                ["Language"] = e.Language,
                ["Channel"] = e.Channel,
            }, TableUpdateMode.Replace, cancellationToken);
        }
        else if (e.Kind is EngagementEventKinds.EscalationAcknowledged or EngagementEventKinds.RedFlagAcknowledged && e.TaskId is { } acknowledged)
        {
            await CloseAsync(acknowledged, cancellationToken);
        }
        else if (e.Kind == EngagementEventKinds.ResponseReceived && e.Score is { } score && e.PatientId is { } patientId && e.Questionnaire != None)
        {
            await UpdateScoreTrendAsync(e, patientId, (double)score, cancellationToken);
        }
    }

    /// <summary>First and last score by time: replaying the same response changes nothing (deterministic, not a counter).</summary>
    private async Task UpdateScoreTrendAsync(EngagementEvent e, string patientId, double score, CancellationToken cancellationToken)
    {
        var pk = "score|" + Hash(e.Questionnaire!);
        var rk = Key(patientId) + "|" + Key(e.Protocol!);
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var existing = await table.GetEntityIfExistsAsync<TableEntity>(pk, rk, cancellationToken: cancellationToken);
            if (!existing.HasValue)
            {
                try
                {
                    await table.AddEntityAsync(new TableEntity(pk, rk)
                    {
                        ["Protocol"] = e.Protocol,
                        ["Questionnaire"] = e.Questionnaire,
                        ["PatientId"] = patientId,
                        ["FirstAt"] = e.OccurredAt,
                        ["FirstScore"] = score,
                        ["LastAt"] = e.OccurredAt,
                        ["LastScore"] = score,
                        ["Responses"] = 1,
                        ["Seen"] = e.Id,
                    }, cancellationToken);
                    return;
                }
                catch (RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.Conflict)
                {
                    continue;
                }
            }

            var row = existing.Value!;
            var seen = (row.GetString("Seen") ?? "").Split(' ');
            if (seen.Contains(e.Id, StringComparer.Ordinal))
            {
                return;
            }

            if (e.OccurredAt < row.GetDateTimeOffset("FirstAt"))
            {
                row["FirstAt"] = e.OccurredAt;
                row["FirstScore"] = score;
            }

            if (e.OccurredAt >= row.GetDateTimeOffset("LastAt"))
            {
                row["LastAt"] = e.OccurredAt;
                row["LastScore"] = score;
            }

            row["Responses"] = (row.GetInt32("Responses") ?? 0) + 1;
            row["Seen"] = string.Join(' ', seen.Append(e.Id).TakeLast(50));
            try
            {
                await table.UpdateEntityAsync(row, row.ETag, TableUpdateMode.Replace, cancellationToken);
                return;
            }
            catch (RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.PreconditionFailed)
            {
            }
        }
    }

    private async Task RememberPartitionAsync(string day, string protocol, CancellationToken cancellationToken)
    {
        var key = day + "|" + Key(protocol);
        if (knownPartitions.ContainsKey(key))
        {
            return;
        }

        await table.UpsertEntityAsync(new TableEntity("days", key), TableUpdateMode.Merge, cancellationToken);
        knownPartitions[key] = true;
    }

    private static EngagementBucket ReadBucket(TableEntity row)
    {
        var bucket = new EngagementBucket();
        foreach (var (name, value) in row)
        {
            if (name.StartsWith("C_", StringComparison.Ordinal) && value is long or int)
            {
                bucket.Counts[EngagementBucket.KindOfProperty(name)] = Convert.ToInt64(value, CultureInfo.InvariantCulture);
            }
        }

        for (var i = 0; i < bucket.RespondMinutes.Length; i++)
        {
            bucket.RespondMinutes[i] = row.GetInt64(EngagementBucket.HistogramProperty(EngagementBucket.RespondHistogram, i)) ?? 0;
            bucket.AcknowledgeMinutes[i] = row.GetInt64(EngagementBucket.HistogramProperty(EngagementBucket.AcknowledgeHistogram, i)) ?? 0;
        }

        bucket.ScoreSum = row.GetDouble("ScoreSum") ?? 0;
        return bucket;
    }

    private static TableEntity WriteBucket(EngagementBucket bucket, string partition, string rowKey, EngagementEvent e)
    {
        var row = new TableEntity(partition, rowKey)
        {
            ["Questionnaire"] = e.Questionnaire,
            ["AgeBand"] = e.AgeBand,
            ["Language"] = e.Language,
            ["Channel"] = e.Channel,
            ["ScoreSum"] = bucket.ScoreSum,
        };
        foreach (var (kind, count) in bucket.Counts)
        {
            row[EngagementBucket.CounterProperty(kind)] = count;
        }

        for (var i = 0; i < bucket.RespondMinutes.Length; i++)
        {
            if (bucket.RespondMinutes[i] != 0)
            {
                row[EngagementBucket.HistogramProperty(EngagementBucket.RespondHistogram, i)] = bucket.RespondMinutes[i];
            }

            if (bucket.AcknowledgeMinutes[i] != 0)
            {
                row[EngagementBucket.HistogramProperty(EngagementBucket.AcknowledgeHistogram, i)] = bucket.AcknowledgeMinutes[i];
            }
        }

        return row;
    }

    private static string Day(DateOnly day) => "d" + day.ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    private static string DayOf(DateTimeOffset at) => Day(DateOnly.FromDateTime(at.UtcDateTime));

    private static string Partition(string day, string protocol) => day + "|" + Key(protocol);

    private static string BucketKey(string questionnaire, string ageBand, string language, string channel) =>
        $"b|{(questionnaire == None ? None : Hash(questionnaire))}|{Key(ageBand)}|{Key(language)}|{Key(channel)}";

    private static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)).AsSpan(0, 8));

    /// <summary>Table keys reject / \ # ? and control characters.</summary>
    private static string Key(string value)
    {
        var text = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            text.Append(c is '/' or '\\' or '#' or '?' || char.IsControl(c) ? '_' : c);
        }

        return text.ToString();
    }

    private static string Escape(string value) => value.Replace("'", "''", StringComparison.Ordinal);

    private async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (!created)
        {
            await table.CreateIfNotExistsAsync(cancellationToken);
            created = true;
        }
    }
}

/// <summary>One aggregate bucket with its dimensions.</summary>
public sealed record BucketRow(DateOnly Day, string Protocol, string Questionnaire, string AgeBand, string Language, string Channel, EngagementBucket Bucket);

/// <summary>A raised escalation or red flag (its care-team Task id) not yet acknowledged.</summary>
public sealed record OpenItem(string TaskId, string Kind, string Protocol, DateTimeOffset RaisedAt, string? InstanceId, string? AgeBand, string? Language, string? Channel);

/// <summary>A patient's first and last score on one questionnaire.</summary>
public sealed record ScoreTrend(string Protocol, string Questionnaire, string PatientId, DateTimeOffset FirstAt, double FirstScore, DateTimeOffset LastAt, double LastScore, int Responses);
