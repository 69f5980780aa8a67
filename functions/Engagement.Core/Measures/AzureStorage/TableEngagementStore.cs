using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using Engagement.Storage;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Options;

namespace Engagement.Measures.AzureStorage;

/// <summary>
/// The engagement event log and its aggregates in one table (<see cref="MeasuresOptions.TableName"/>), laid out so that
/// recording is one atomic entity-group transaction and a report reads a few rows by key, never the events
/// (docs/adr/0005-measures-layout.md, docs/measures.md):
/// <list type="bullet">
/// <item>partition <c>m{yyyyMM}|{protocol}</c>: event rows <c>e|{eventId}</c> (append-only; a repeat fails the
/// transaction and counts nothing), the month's aggregate <c>m</c> (margins per cohort dimension and per-day totals)
/// and each day's aggregate <c>d|{dd}</c> (margins), written with the events in one transaction, ETag-checked;</item>
/// <item><c>index</c>: <c>months</c> lists the (month, protocol) partitions with data, <c>scores</c> the score-trend
/// summaries — one point read each;</item>
/// <item><c>run</c>: a follow-up run's protocol and cohort; <c>open</c>: raised escalations and red flags not yet
/// acknowledged; <c>score|{questionnaire}</c>: each patient's first and last score <c>p|…</c> and a summary per protocol
/// <c>s|{protocol}</c> kept in the same transaction.</item>
/// </list>
/// Events of one partition that meet in this process are committed together (<see cref="GroupCommit{TItem,TResult}"/>);
/// the aggregate rows this process wrote last are kept with their ETags, so a commit usually costs one transaction.
/// </summary>
public sealed class TableEngagementStore : IEngagementRecorder
{
    private const string None = "-";
    private const int MaxRemembered = 100_000;
    private const int MaxTransaction = 100;
    private const int MaxBinaryProperty = 64 * 1024;
    private const int MaxSample = 200;

    /// <summary>
    /// Lost ETag races before giving up. Two processes on one partition: the one that keeps its rows cached commits
    /// without reading and can win many times in a row, so the other keeps trying (about half a minute at most).
    /// </summary>
    private const int MaxRaceAttempts = 100;
    private readonly TableClient table;
    private readonly RecentMap<string, RunCohort> runs = new(MaxRemembered, StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CachedRow> aggregates = new(StringComparer.Ordinal);
    private readonly GroupCommit<EngagementEvent, bool> eventCommits;
    private readonly GroupCommit<ScoreChange, bool> scoreCommits;
    private readonly GroupCommit<string, bool> indexCommits;
    private HashSet<string>? knownMonths;
    private HashSet<string>? knownScores;

    /// <summary>
    /// Events this process has recorded (or found recorded), by partition and id: a repeat is answered without storage.
    /// The follow-up's send step records its run's <c>engaged</c> event at every send (counted once). Bounded: cleared
    /// when it grows past <see cref="MaxRemembered"/>, after which a repeat falls back to the table's own de-duplication.
    /// </summary>
    private readonly RecentMap<string, bool> remembered = new(MaxRemembered, StringComparer.Ordinal);
    private volatile bool created;

    public TableEngagementStore(StorageClients storage, IOptions<MeasuresOptions> options)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(options);
        table = storage.Tables.GetTableClient(options.Value.TableName);
        eventCommits = new(CommitEventsAsync, TakeEvents);
        scoreCommits = new(CommitScoresAsync, items => Math.Min(items.Count, MaxTransaction / 4 - 1));
        indexCommits = new(CommitIndexAsync);
    }

    public async Task RememberRunAsync(string instanceId, RunCohort cohort, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cohort);
        await EnsureTableAsync(cancellationToken);
        if (runs.TryGet(instanceId, out var known) && known == cohort)
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
        runs.Set(instanceId, cohort);
    }

    public async Task<bool> RecordAsync(EngagementEvent engagementEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(engagementEvent);
        CheckKind(engagementEvent);
        await EnsureTableAsync(cancellationToken);
        var e = await CompleteAsync(engagementEvent, cancellationToken);
        if (!await SubmitAsync(e, cancellationToken))
        {
            return false;
        }

        await AfterRecordAsync(e, cancellationToken);
        return true;
    }

    /// <summary>
    /// Records many events with the same outcome as <see cref="RecordAsync"/> called for each: all are handed to the
    /// group commit at once, so a partition's events go in transactions of up to 100 rows. For backfills and the
    /// measures benchmark's seeding. Returns how many events were newly recorded.
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

        var outcomes = await Task.WhenAll(completed.Select(e => SubmitAsync(e, cancellationToken)));
        var recorded = completed.Where((_, i) => outcomes[i]).ToList();

        // Open items in input order (an acknowledgement after what it closes); score trends all at once, so that their
        // group commit batches them.
        foreach (var e in recorded.Where(e => e.Kind != EngagementEventKinds.ResponseReceived))
        {
            await AfterRecordAsync(e, cancellationToken);
        }

        await Task.WhenAll(recorded.Where(e => e.Kind == EngagementEventKinds.ResponseReceived).Select(e => AfterRecordAsync(e, cancellationToken)));
        return recorded.Count;
    }

    private async Task<bool> SubmitAsync(EngagementEvent e, CancellationToken cancellationToken)
    {
        var partition = Partition(e.OccurredAt, e.Protocol!);
        if (remembered.Contains(Memo(partition, e.Id)))
        {
            return false; // recorded before by this process
        }

        await RegisterAsync(Month(e.OccurredAt) + "\t" + e.Protocol, scores: false, cancellationToken);
        return await eventCommits.SubmitAsync(partition, e, cancellationToken);
    }

    /// <summary>As many waiting events as fit one transaction with the aggregate rows they change.</summary>
    private static int TakeEvents(IReadOnlyList<EngagementEvent> waiting)
    {
        var days = new HashSet<int>();
        var count = 0;
        foreach (var e in waiting)
        {
            days.Add(e.OccurredAt.UtcDateTime.Day);
            if (count + 1 + days.Count + 1 > MaxTransaction)
            {
                break; // event rows + day rows + the month row
            }

            count++;
        }

        return Math.Max(1, count);
    }

    /// <summary>
    /// One transaction for a partition: the new event rows, the month row and the day rows they change (ETag-checked).
    /// An event whose row exists was recorded before (false); a lost race re-reads the aggregates and tries again.
    /// </summary>
    private async Task<IReadOnlyList<GroupCommitOutcome<bool>>> CommitEventsAsync(string partition, IReadOnlyList<EngagementEvent> events)
    {
        var outcomes = new GroupCommitOutcome<bool>[events.Count];
        var pending = new List<int>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < events.Count; i++)
        {
            if (remembered.Contains(Memo(partition, events[i].Id)) || !ids.Add(events[i].Id))
            {
                outcomes[i] = GroupCommitOutcome.Of(false); // recorded before, or repeated in this batch
            }
            else
            {
                pending.Add(i);
            }
        }

        for (var attempt = 0; pending.Count > 0; attempt++)
        {
            var batch = pending.ConvertAll(i => events[i]);
            var monthKey = "m";
            var dayKeys = batch.Select(e => DayKey(e.OccurredAt)).Distinct(StringComparer.Ordinal).ToList();
            var rows = await ReadAggregatesAsync(partition, [monthKey, .. dayKeys]);
            var month = rows[monthKey].Aggregate;
            var days = dayKeys.ToDictionary(k => k, k => rows[k].Aggregate, StringComparer.Ordinal);
            foreach (var e in batch)
            {
                month.Apply(e, e.OccurredAt.UtcDateTime.Day);
                days[DayKey(e.OccurredAt)].Apply(e, null);
            }

            var actions = batch.ConvertAll(e => new TableTransactionAction(TableTransactionActionType.Add, EventRow(e, partition)));
            var aggregateRows = new List<(string RowKey, EngagementAggregate Aggregate, TableEntity Entity)>();
            foreach (var key in dayKeys.Prepend(monthKey))
            {
                var aggregate = key == monthKey ? month : days[key];
                var entity = AggregateRow(partition, key, batch[0].Protocol!, aggregate);
                actions.Add(rows[key].ETag is { } etag
                    ? new(TableTransactionActionType.UpdateReplace, entity, etag)
                    : new(TableTransactionActionType.Add, entity));
                aggregateRows.Add((key, aggregate, entity));
            }

            try
            {
                var response = await table.SubmitTransactionAsync(actions);
                for (var j = 0; j < aggregateRows.Count; j++)
                {
                    var etag = response.Value[batch.Count + j].Headers.ETag;
                    var cacheKey = partition + "\n" + aggregateRows[j].RowKey;
                    if (etag is { } known)
                    {
                        aggregates[cacheKey] = new CachedRow(aggregateRows[j].Aggregate, known);
                    }
                    else
                    {
                        aggregates.TryRemove(cacheKey, out _);
                    }
                }

                foreach (var i in pending)
                {
                    Remember(Memo(partition, events[i].Id));
                    outcomes[i] = GroupCommitOutcome.Of(true);
                }

                return outcomes;
            }
            catch (TableTransactionFailedException ex) when (ex.Status is (int)HttpStatusCode.Conflict or (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.NotFound or (int)HttpStatusCode.BadRequest)
            {
                Forget(partition, [monthKey, .. dayKeys]);
                // The failed action, when the service names it: an event row (recorded before) or an aggregate row (a race).
                var existing = ex.FailedTransactionActionIndex switch
                {
                    { } index when index < batch.Count => await ExistingEventsAsync(partition, [batch[index]]),
                    { } => [],
                    null => await ExistingEventsAsync(partition, batch),
                };
                if (existing.Count > 0)
                {
                    pending.RemoveAll(i =>
                    {
                        if (!existing.Contains(events[i].Id))
                        {
                            return false;
                        }

                        Remember(Memo(partition, events[i].Id));
                        outcomes[i] = GroupCommitOutcome.Of(false); // recorded before: a retry or a redelivery
                        return true;
                    });
                    continue;
                }

                if (attempt >= MaxRaceAttempts)
                {
                    throw;
                }

                await RaceDelayAsync(attempt); // another instance changed an aggregate row: read again
            }
        }

        return outcomes;
    }

    private async Task<HashSet<string>> ExistingEventsAsync(string partition, IReadOnlyList<EngagementEvent> events)
    {
        var found = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(events, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (e, ct) =>
        {
            if ((await table.GetEntityIfExistsAsync<TableEntity>(partition, "e|" + Key(e.Id), ["Kind"], ct)).HasValue)
            {
                found.Add(e.Id);
            }
        });
        return [.. found];
    }

    /// <summary>The aggregate rows, from what this process wrote last (with its ETag) or read by key; missing rows are empty with no ETag.</summary>
    private async Task<Dictionary<string, (EngagementAggregate Aggregate, ETag? ETag)>> ReadAggregatesAsync(string partition, IReadOnlyList<string> rowKeys)
    {
        var result = new ConcurrentDictionary<string, (EngagementAggregate, ETag?)>(StringComparer.Ordinal);
        var missing = new List<string>();
        foreach (var key in rowKeys)
        {
            if (aggregates.TryGetValue(partition + "\n" + key, out var cached))
            {
                result[key] = (Copy(cached.Aggregate), cached.ETag);
            }
            else
            {
                missing.Add(key);
            }
        }

        await Parallel.ForEachAsync(missing, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (key, ct) =>
        {
            var row = await table.GetEntityIfExistsAsync<TableEntity>(partition, key, cancellationToken: ct);
            result[key] = row.HasValue ? (ReadAggregate(row.Value!), row.Value!.ETag) : (new EngagementAggregate(), null);
        });
        return new Dictionary<string, (EngagementAggregate, ETag?)>(result, StringComparer.Ordinal);
    }

    private void Forget(string partition, IEnumerable<string> rowKeys)
    {
        foreach (var key in rowKeys)
        {
            aggregates.TryRemove(partition + "\n" + key, out _);
        }
    }

    private static EngagementAggregate Copy(EngagementAggregate aggregate)
    {
        var copy = new EngagementAggregate();
        copy.Add(aggregate);
        return copy;
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

    private static TableEntity AggregateRow(string partition, string rowKey, string protocol, EngagementAggregate aggregate)
    {
        var row = new TableEntity(partition, rowKey) { ["Protocol"] = protocol };
        WriteBinary(row, "Data", aggregate.ToUtf8Json());
        return row;
    }

    private static EngagementAggregate ReadAggregate(TableEntity row) => EngagementAggregate.FromUtf8Json(ReadBinary(row, "Data"));

    /// <summary>A binary value over as many properties as it needs (<c>Data</c>, <c>Data1</c>, …; 64 KiB each).</summary>
    private static void WriteBinary(TableEntity row, string name, byte[] value)
    {
        for (int offset = 0, part = 0; offset < value.Length || part == 0; offset += MaxBinaryProperty, part++)
        {
            row[part == 0 ? name : name + part.ToString(CultureInfo.InvariantCulture)] = value.AsSpan(offset, Math.Min(MaxBinaryProperty, value.Length - offset)).ToArray();
        }
    }

    private static byte[] ReadBinary(TableEntity row, string name)
    {
        var parts = new List<byte[]>();
        for (var part = 0; row.GetBinary(part == 0 ? name : name + part.ToString(CultureInfo.InvariantCulture)) is { } bytes; part++)
        {
            parts.Add(bytes);
        }

        return [.. parts.SelectMany(p => p)];
    }

    private static string Memo(string partition, string id) => partition + "\u001f" + id;

    private void Remember(string memo)
    {
        remembered.Set(memo, true);
    }

    /// <summary>
    /// The aggregates of the period (days <paramref name="from"/> to <paramref name="to"/> inclusive, UTC), per protocol,
    /// optionally one protocol: a month inside the period is its month row, a month the period covers in part is the day
    /// rows of the covered days — all point reads, found through the <c>months</c> index row. Day totals are keyed by
    /// <see cref="DateOnly.DayNumber"/>.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, EngagementAggregate>> ReadAsync(DateOnly from, DateOnly to, string? protocol, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var index = await ReadIndexAsync("months", cancellationToken);
        var reads = new List<(string Protocol, string Partition, string RowKey, int DayOffset, bool Day)>();
        foreach (var entry in index)
        {
            var parts = entry.Split('\t', 2);
            if (parts.Length != 2 || (protocol is not null && parts[1] != protocol))
            {
                continue;
            }

            var first = DateOnly.ParseExact(parts[0][1..] + "01", "yyyyMMdd", CultureInfo.InvariantCulture);
            var last = first.AddMonths(1).AddDays(-1);
            if (last < from || first > to)
            {
                continue;
            }

            var partition = Partition(parts[0], parts[1]);
            if (first >= from && last <= to)
            {
                reads.Add((parts[1], partition, "m", first.DayNumber - 1, false));
                continue;
            }

            for (var day = first < from ? from : first; day <= last && day <= to; day = day.AddDays(1))
            {
                reads.Add((parts[1], partition, DayKey(day.Day), day.DayNumber, true));
            }
        }

        var found = new ConcurrentBag<(string Protocol, EngagementAggregate Aggregate, int DayOffset, bool Day)>();
        await Parallel.ForEachAsync(reads, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (read, ct) =>
        {
            var row = await table.GetEntityIfExistsAsync<TableEntity>(read.Partition, read.RowKey, cancellationToken: ct);
            if (row.HasValue)
            {
                found.Add((read.Protocol, ReadAggregate(row.Value!), read.DayOffset, read.Day));
            }
        });

        var result = new Dictionary<string, EngagementAggregate>(StringComparer.Ordinal);
        foreach (var (p, aggregate, offset, isDay) in found)
        {
            if (!result.TryGetValue(p, out var total))
            {
                result[p] = total = new EngagementAggregate();
            }

            if (isDay)
            {
                total.AddDay(aggregate, offset);
            }
            else
            {
                total.Add(aggregate, offset);
            }
        }

        return result;
    }

    /// <summary>The baseline the aggregates are measured against: every event row of the period, counted per request.</summary>
    public async Task<EngagementBucket> ScanEventsAsync(DateOnly from, DateOnly to, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var total = new EngagementBucket();
        await foreach (var row in table.QueryAsync<TableEntity>(
            $"PartitionKey ge '{Month(from)}' and PartitionKey lt '{Month(to.AddMonths(1))}' and RowKey ge 'e|' and RowKey lt 'e}}'", cancellationToken: cancellationToken))
        {
            var at = row.GetDateTimeOffset("OccurredAt") ?? default;
            var day = DateOnly.FromDateTime(at.UtcDateTime);
            if (day < from || day > to)
            {
                continue;
            }

            total.Apply(new EngagementEvent
            {
                Id = row.RowKey,
                Kind = row.GetString("Kind") ?? EngagementEventKinds.MessageSent,
                OccurredAt = at,
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
            var item = ToOpenItem(row);
            if (protocol is null || item.Protocol == protocol)
            {
                items.Add(item);
            }
        }

        return items;
    }

    /// <summary>The open escalation or red flag of a care-team Task, if there is one.</summary>
    public async Task<OpenItem?> OpenItemAsync(string taskId, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var row = await table.GetEntityIfExistsAsync<TableEntity>("open", Key(taskId), cancellationToken: cancellationToken);
        return row.HasValue ? ToOpenItem(row.Value!) : null;
    }

    private static OpenItem ToOpenItem(TableEntity row) => new(row.RowKey, row.GetString("Kind") ?? "", row.GetString("Protocol") ?? None,
        row.GetDateTimeOffset("RaisedAt") ?? default, row.GetString("InstanceId"), row.GetString("AgeBand"), row.GetString("Language"), row.GetString("Channel"));

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

    /// <summary>
    /// Score trends per (protocol, questionnaire), optionally one protocol, found through the <c>scores</c> index row.
    /// Without a period, every patient (one all-time summary row each). With one, the patients whose first score (the
    /// index score) falls in the period, UTC dates inclusive, with their change from it to their latest score: the
    /// month rows of whole months and the day rows of the others, merged.
    /// </summary>
    public async Task<IReadOnlyList<ScoreTrendSummary>> ScoreTrendsAsync(string? protocol, DateOnly? from, DateOnly? to, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var entries = (await ReadIndexAsync("scores", cancellationToken))
            .Select(e => e.Split('\t', 3))
            .Where(p => p.Length == 3 && (protocol is null || p[2] == protocol))
            .ToList();
        var periodKeys = from is { } start && to is { } end ? IndexKeys(start, end) : null;
        var reads = entries.SelectMany(entry => (periodKeys ?? [string.Empty]).Select(suffix => (Entry: entry, Key: SummaryKey(entry[2]) + suffix))).ToList();
        var rows = new ConcurrentBag<(string[] Entry, ScoreTrendSummary Summary)>();
        await Parallel.ForEachAsync(reads, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (read, ct) =>
        {
            var row = await table.GetEntityIfExistsAsync<TableEntity>(ScorePartition(read.Entry[1]), read.Key, cancellationToken: ct);
            if (row.HasValue)
            {
                rows.Add((read.Entry, ReadSummary(row.Value!, read.Entry[2], read.Entry[1])));
            }
        });
        return [.. rows
            .GroupBy(r => (Protocol: r.Entry[2], Questionnaire: r.Entry[1]))
            .Select(g => ScoreTrendSummary.Merge(g.Key.Protocol, g.Key.Questionnaire, g.Select(r => r.Summary), MaxSample))
            .OrderBy(s => s.Questionnaire, StringComparer.Ordinal).ThenBy(s => s.Protocol, StringComparer.Ordinal)];
    }

    /// <summary>The summary-row suffixes that cover a period: <c>|m{yyyyMM}</c> for whole months, <c>|d{yyyyMMdd}</c> for the days of the others.</summary>
    private static List<string> IndexKeys(DateOnly from, DateOnly to)
    {
        var keys = new List<string>();
        for (var month = new DateOnly(from.Year, from.Month, 1); month <= to; month = month.AddMonths(1))
        {
            var last = month.AddMonths(1).AddDays(-1);
            if (from <= month && last <= to)
            {
                keys.Add(IndexMonthSuffix(month));
                continue;
            }

            for (var day = from > month ? from : month; day <= last && day <= to; day = day.AddDays(1))
            {
                keys.Add(IndexDaySuffix(day));
            }
        }

        return keys;
    }

    private async Task<EngagementEvent> CompleteAsync(EngagementEvent e, CancellationToken cancellationToken)
    {
        RunCohort? run = null;
        if (e.InstanceId is { } instanceId && (e.Protocol is null || e.AgeBand is null || e.Language is null || e.Channel is null))
        {
            if (!runs.TryGet(instanceId, out run))
            {
                var row = await table.GetEntityIfExistsAsync<TableEntity>("run", Key(instanceId), cancellationToken: cancellationToken);
                if (row.HasValue)
                {
                    run = new RunCohort(row.Value!.GetString("Protocol") ?? None, row.Value.GetString("AgeBand") ?? Cohorts.Unknown,
                        row.Value.GetString("Language") ?? Cohorts.Unknown, row.Value.GetString("Channel") ?? Cohorts.Unknown);
                    runs.Set(instanceId, run);
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
            await RegisterAsync(Hash(e.Questionnaire!) + "\t" + e.Questionnaire + "\t" + e.Protocol, scores: true, cancellationToken);
            await scoreCommits.SubmitAsync(ScorePartition(e.Questionnaire!), new ScoreChange(e, patientId, (double)score), cancellationToken);
        }
    }

    /// <summary>
    /// Patients' first and last scores (by time; replaying a response changes nothing) and the per-protocol summaries
    /// they feed, in one transaction per batch: the all-time summary and those of the day and month of the patient's
    /// first score (its index score). Each summary is changed by the difference between the patient's old and new
    /// contribution (an earlier first score moves the patient to another day's and month's rows), so reading a trend
    /// never reads the patients. A batch whose rows exceed one transaction is committed in halves.
    /// </summary>
    private async Task<IReadOnlyList<GroupCommitOutcome<bool>>> CommitScoresAsync(string partition, IReadOnlyList<ScoreChange> changes)
    {
        for (var attempt = 0; ; attempt++)
        {
            var patientKeys = changes.Select(c => PatientKey(c.PatientId, c.Event.Protocol!)).Distinct(StringComparer.Ordinal).ToList();
            var rows = new ConcurrentDictionary<string, TableEntity?>(StringComparer.Ordinal);
            await ReadRowsAsync(partition, patientKeys, rows);
            var patients = patientKeys.ToDictionary(k => k, k => rows[k] is { } row ? ReadPatient(row) : null, StringComparer.Ordinal);

            // Which patients change, from what to what (several responses of one patient in a batch apply in turn).
            var moves = new List<(string Protocol, string Questionnaire, PatientScore? Before, PatientScore After)>();
            var changedPatients = new HashSet<string>(StringComparer.Ordinal);
            foreach (var change in changes)
            {
                var e = change.Event;
                var patientKey = PatientKey(change.PatientId, e.Protocol!);
                var before = patients[patientKey];
                if (before is not null && before.Seen.Contains(e.Id, StringComparer.Ordinal))
                {
                    continue;
                }

                var after = before is null
                    ? new PatientScore(change.PatientId, e.OccurredAt, change.Score, e.OccurredAt, change.Score, 1, [e.Id])
                    : before with
                    {
                        FirstAt = e.OccurredAt < before.FirstAt ? e.OccurredAt : before.FirstAt,
                        FirstScore = e.OccurredAt < before.FirstAt ? change.Score : before.FirstScore,
                        LastAt = e.OccurredAt >= before.LastAt ? e.OccurredAt : before.LastAt,
                        LastScore = e.OccurredAt >= before.LastAt ? change.Score : before.LastScore,
                        Responses = before.Responses + 1,
                        Seen = [.. before.Seen.Append(e.Id).TakeLast(50)],
                    };
                patients[patientKey] = after;
                changedPatients.Add(patientKey);
                moves.Add((e.Protocol!, e.Questionnaire!, before, after));
            }

            if (changedPatients.Count == 0)
            {
                return [.. changes.Select(_ => GroupCommitOutcome.Of(false))];
            }

            var summaryKeys = moves
                .SelectMany(m => SummaryKeys(m.Protocol, m.Before).Concat(SummaryKeys(m.Protocol, m.After)))
                .Distinct(StringComparer.Ordinal).ToList();
            if (changedPatients.Count + summaryKeys.Count > MaxTransaction && changes.Count > 1)
            {
                var half = changes.Count / 2;
                return [.. await CommitScoresAsync(partition, [.. changes.Take(half)]), .. await CommitScoresAsync(partition, [.. changes.Skip(half)])];
            }

            await ReadRowsAsync(partition, summaryKeys, rows);
            var summaries = summaryKeys.ToDictionary(k => k, k => rows[k] is { } row ? ReadSummary(row, "", "") : null, StringComparer.Ordinal);
            foreach (var (protocol, questionnaire, before, after) in moves)
            {
                // The rows the patient counted in before and counts in now: the same three unless the first score moved.
                var was = SummaryKeys(protocol, before);
                var now = SummaryKeys(protocol, after);
                foreach (var key in was.Union(now, StringComparer.Ordinal))
                {
                    summaries[key] = (summaries[key] ?? new ScoreTrendSummary(protocol, questionnaire, 0, 0, 0, 0, 0, []))
                        .Change(was.Contains(key, StringComparer.Ordinal) ? before : null, now.Contains(key, StringComparer.Ordinal) ? after : null, MaxSample);
                }
            }

            var actions = new List<TableTransactionAction>();
            foreach (var key in changedPatients)
            {
                var entity = PatientRow(partition, key, patients[key]!);
                actions.Add(rows[key] is { } old ? new(TableTransactionActionType.UpdateReplace, entity, old.ETag) : new(TableTransactionActionType.Add, entity));
            }

            foreach (var key in summaryKeys)
            {
                if (summaries[key] is { } summary)
                {
                    var entity = SummaryRow(partition, key, summary);
                    actions.Add(rows[key] is { } old ? new(TableTransactionActionType.UpdateReplace, entity, old.ETag) : new(TableTransactionActionType.Add, entity));
                }
            }

            try
            {
                await table.SubmitTransactionAsync(actions);
                return [.. changes.Select(_ => GroupCommitOutcome.Of(true))];
            }
            catch (TableTransactionFailedException ex) when (ex.Status is (int)HttpStatusCode.Conflict or (int)HttpStatusCode.PreconditionFailed && attempt < MaxRaceAttempts)
            {
                await RaceDelayAsync(attempt); // another instance changed a row: read again
            }
        }
    }

    private async Task ReadRowsAsync(string partition, IEnumerable<string> keys, ConcurrentDictionary<string, TableEntity?> rows) =>
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (key, ct) =>
        {
            var row = await table.GetEntityIfExistsAsync<TableEntity>(partition, key, cancellationToken: ct);
            rows[key] = row.HasValue ? row.Value : null;
        });

    /// <summary>The summary rows a patient's scores count in: all-time, and the month and day (UTC) of the first score.</summary>
    private static string[] SummaryKeys(string protocol, PatientScore? patient) => patient is null
        ? []
        : [SummaryKey(protocol), SummaryKey(protocol) + IndexMonthSuffix(DateOnly.FromDateTime(patient.FirstAt.UtcDateTime)), SummaryKey(protocol) + IndexDaySuffix(DateOnly.FromDateTime(patient.FirstAt.UtcDateTime))];

    private static string IndexMonthSuffix(DateOnly day) => "|m" + day.ToString("yyyyMM", CultureInfo.InvariantCulture);

    private static string IndexDaySuffix(DateOnly day) => "|d" + day.ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    private static TableEntity PatientRow(string partition, string rowKey, PatientScore p) => new(partition, rowKey)
    {
        ["PatientId"] = p.PatientId,
        ["FirstAt"] = p.FirstAt,
        ["FirstScore"] = p.FirstScore,
        ["LastAt"] = p.LastAt,
        ["LastScore"] = p.LastScore,
        ["Responses"] = p.Responses,
        ["Seen"] = string.Join(' ', p.Seen),
    };

    private static PatientScore ReadPatient(TableEntity row) => new(
        row.GetString("PatientId") ?? "", row.GetDateTimeOffset("FirstAt") ?? default, row.GetDouble("FirstScore") ?? 0,
        row.GetDateTimeOffset("LastAt") ?? default, row.GetDouble("LastScore") ?? 0, row.GetInt32("Responses") ?? 1,
        [.. (row.GetString("Seen") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)]);

    private static TableEntity SummaryRow(string partition, string rowKey, ScoreTrendSummary s)
    {
        var row = new TableEntity(partition, rowKey)
        {
            ["Protocol"] = s.Protocol,
            ["Questionnaire"] = s.Questionnaire,
            ["Patients"] = s.Patients,
            ["PatientsWithRepeat"] = s.PatientsWithRepeat,
            ["ChangeSum"] = s.ChangeSum,
            ["Improved"] = s.Improved,
            ["Worsened"] = s.Worsened,
        };
        WriteBinary(row, "Sample", System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(s.Sample, MeasuresJsonContext.Default.IReadOnlyListPatientScore));
        return row;
    }

    private static ScoreTrendSummary ReadSummary(TableEntity row, string protocol, string questionnaire)
    {
        var sample = ReadBinary(row, "Sample");
        return new ScoreTrendSummary(
            row.GetString("Protocol") ?? protocol, row.GetString("Questionnaire") ?? questionnaire,
            row.GetInt32("Patients") ?? 0, row.GetInt32("PatientsWithRepeat") ?? 0, row.GetDouble("ChangeSum") ?? 0,
            row.GetInt32("Improved") ?? 0, row.GetInt32("Worsened") ?? 0,
            sample.Length == 0 ? [] : System.Text.Json.JsonSerializer.Deserialize(sample, MeasuresJsonContext.Default.IReadOnlyListPatientScore) ?? []);
    }

    /// <summary>An index row's entries (one point read; cached entries are what this process registered or read).</summary>
    private async Task<IReadOnlyList<string>> ReadIndexAsync(string name, CancellationToken cancellationToken)
    {
        var row = await table.GetEntityIfExistsAsync<TableEntity>("index", name, cancellationToken: cancellationToken);
        return row.HasValue ? (row.Value!.GetString("Entries") ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries) : [];
    }

    /// <summary>Adds an entry to an index row unless this process knows it is there (entries are few and rarely new).</summary>
    private async Task RegisterAsync(string entry, bool scores, CancellationToken cancellationToken)
    {
        var known = scores ? knownScores : knownMonths;
        if (known is not null && known.Contains(entry))
        {
            return;
        }

        await indexCommits.SubmitAsync(scores ? "scores" : "months", entry, cancellationToken);
    }

    /// <summary>Adds the entries to an index row: one read and one ETag-checked write for all that meet in this process.</summary>
    private async Task<IReadOnlyList<GroupCommitOutcome<bool>>> CommitIndexAsync(string name, IReadOnlyList<string> added)
    {
        for (var attempt = 0; ; attempt++)
        {
            var row = await table.GetEntityIfExistsAsync<TableEntity>("index", name);
            var entries = new SortedSet<string>((row.HasValue ? row.Value!.GetString("Entries") ?? "" : "").Split('\n', StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);
            var changed = false;
            foreach (var entry in added)
            {
                changed |= entries.Add(entry);
            }

            try
            {
                if (changed)
                {
                    var entity = new TableEntity("index", name) { ["Entries"] = string.Join('\n', entries) };
                    if (row.HasValue)
                    {
                        await table.UpdateEntityAsync(entity, row.Value!.ETag, TableUpdateMode.Replace);
                    }
                    else
                    {
                        await table.AddEntityAsync(entity);
                    }
                }

                var set = new HashSet<string>(entries, StringComparer.Ordinal);
                if (name == "scores")
                {
                    knownScores = set;
                }
                else
                {
                    knownMonths = set;
                }

                return [.. added.Select(_ => GroupCommitOutcome.Of(true))];
            }
            catch (RequestFailedException ex) when (ex.Status is (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.Conflict && attempt < MaxRaceAttempts)
            {
                await RaceDelayAsync(attempt); // another instance registered something: read again
            }
        }
    }

    private static string Month(DateTimeOffset at) => "m" + at.UtcDateTime.ToString("yyyyMM", CultureInfo.InvariantCulture);

    private static string Month(DateOnly day) => "m" + day.ToString("yyyyMM", CultureInfo.InvariantCulture);

    private static string DayKey(DateTimeOffset at) => DayKey(at.UtcDateTime.Day);

    private static string DayKey(int day) => "d|" + day.ToString("00", CultureInfo.InvariantCulture);

    private static string Partition(DateTimeOffset at, string protocol) => Partition(Month(at), protocol);

    private static string Partition(string month, string protocol) => month + "|" + Key(protocol);

    private static string ScorePartition(string questionnaireOrHash) =>
        "score|" + (questionnaireOrHash.Length == 16 && questionnaireOrHash.All(char.IsAsciiHexDigitLower) ? questionnaireOrHash : Hash(questionnaireOrHash));

    private static string PatientKey(string patientId, string protocol) => "p|" + Key(patientId) + "|" + Key(protocol);

    private static string SummaryKey(string protocol) => "s|" + Key(protocol);

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

    /// <summary>A random wait after a lost race, growing with the attempts up to 0.5 s.</summary>
    private static Task RaceDelayAsync(int attempt) => Task.Delay(Random.Shared.Next(5, 50) * Math.Min(attempt + 1, 10));

    private async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (!created)
        {
            await table.CreateIfNotExistsAsync(cancellationToken);
            created = true;
        }
    }

    private sealed record CachedRow(EngagementAggregate Aggregate, ETag ETag);

    private sealed record ScoreChange(EngagementEvent Event, string PatientId, double Score);
}

/// <summary>A raised escalation or red flag (its care-team Task id) not yet acknowledged.</summary>
public sealed record OpenItem(string TaskId, string Kind, string Protocol, DateTimeOffset RaisedAt, string? InstanceId, string? AgeBand, string? Language, string? Channel);

/// <summary>A patient's first and last score on one questionnaire under one protocol, and the responses seen (ids, the last 50).</summary>
public sealed record PatientScore(string PatientId, DateTimeOffset FirstAt, double FirstScore, DateTimeOffset LastAt, double LastScore, int Responses, IReadOnlyList<string> Seen);

/// <summary>
/// Score trends of one questionnaire under one protocol: patients, those with more than one response, the sum of their
/// changes first → last, how many improved (lower) or worsened (higher), and the earliest patients (by first response,
/// at most 200) for the chart.
/// </summary>
public sealed record ScoreTrendSummary(string Protocol, string Questionnaire, int Patients, int PatientsWithRepeat, double ChangeSum, int Improved, int Worsened, IReadOnlyList<PatientScore> Sample)
{
    /// <summary>
    /// The summary after one patient's contribution changed from <paramref name="before"/> to <paramref name="after"/>
    /// (null: the patient was not counted here, or is no longer).
    /// </summary>
    public ScoreTrendSummary Change(PatientScore? before, PatientScore? after, int maxSample)
    {
        var patientId = (after ?? before)?.PatientId;
        if (patientId is null)
        {
            return this;
        }

        var s = (this with { Patients = Patients - (before is null ? 0 : 1) + (after is null ? 0 : 1) }).Count(before, -1).Count(after, 1);

        // The sample is the patients with the earliest first responses: a patient enters when it is earlier than the
        // latest kept one and the latest leaves when there are too many. One that leaves this row (its first score
        // moved earlier, to another day) leaves a place the next-earliest patient cannot fill: the sample is then short
        // by one until a new patient arrives.
        var sample = s.Sample.Where(p => p.PatientId != patientId).ToList();
        if (after is not null)
        {
            sample.Add(after with { Seen = [] });
        }

        return s with
        {
            Sample = [.. sample.OrderBy(p => p.FirstAt).ThenBy(p => p.PatientId, StringComparer.Ordinal).Take(maxSample)],
        };
    }

    /// <summary>Summaries of disjoint sets of patients (days and months of first scores) as one.</summary>
    public static ScoreTrendSummary Merge(string protocol, string questionnaire, IEnumerable<ScoreTrendSummary> parts, int maxSample)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var list = parts.ToList();
        return new ScoreTrendSummary(protocol, questionnaire, list.Sum(p => p.Patients), list.Sum(p => p.PatientsWithRepeat), list.Sum(p => p.ChangeSum),
            list.Sum(p => p.Improved), list.Sum(p => p.Worsened),
            [.. list.SelectMany(p => p.Sample).OrderBy(p => p.FirstAt).ThenBy(p => p.PatientId, StringComparer.Ordinal).Take(maxSample)]);
    }

    private ScoreTrendSummary Count(PatientScore? patient, int sign) => patient is not { Responses: > 1 }
        ? this
        : this with
        {
            PatientsWithRepeat = PatientsWithRepeat + sign,
            ChangeSum = ChangeSum + (sign * (patient.LastScore - patient.FirstScore)),
            Improved = Improved + (patient.LastScore < patient.FirstScore ? sign : 0),
            Worsened = Worsened + (patient.LastScore > patient.FirstScore ? sign : 0),
        };
}

[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyList<PatientScore>))]
internal sealed partial class MeasuresJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
