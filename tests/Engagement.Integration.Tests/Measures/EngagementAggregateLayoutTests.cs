using Engagement.Fhir;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Measures;
using Engagement.Measures.AzureStorage;
using Engagement.Storage.AzureStorage;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Options;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Measures;

/// <summary>
/// The measures layout (docs/adr/0005-measures-layout.md) against an oracle computed from the events themselves: any
/// period — whole months, parts of months, one day — reads the same margins, day totals and protocol totals as counting
/// the period's events, when two processes (two stores) recorded them concurrently into the same partitions, with
/// repeats. Score-trend summaries match the patients' first and last scores; a care-team Task stored as acknowledged
/// records the acknowledgement once.
/// </summary>
public sealed class EngagementAggregateLayoutTests
{
    private static readonly string[] Protocols = ["post-discharge", "heart-failure"];
    private static readonly string[] Questionnaires = ["-", "http://example.org/Questionnaire/phq-9", "http://example.org/Questionnaire/checkin"];
    private static readonly string[] AgeBands = ["18-39", "40-64", "65-79"];
    private static readonly string[] Languages = ["en", "es"];
    private static readonly string[] Channels = ["sms", "email"];
    private static readonly string[] Kinds = [.. EngagementEventKinds.All.Where(k => k is not (EngagementEventKinds.EscalationRaised or EngagementEventKinds.RedFlagRaised))];
    private static readonly DateTimeOffset Start = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static (TableEngagementStore A, TableEngagementStore B) TwoProcesses()
    {
        var options = Options.Create(new MeasuresOptions { TableName = "Measures" + Guid.NewGuid().ToString("N")[..12] });
        return (new TableEngagementStore(Clients(), options), new TableEngagementStore(Clients(), options));
    }

    private static StorageClients Clients() => TestEnvironment.StorageClients();

    private static List<EngagementEvent> RandomEvents(int count, int patients)
    {
        var random = new Random(20251125);
        var events = new List<EngagementEvent>(count);
        for (var i = 0; i < count; i++)
        {
            var kind = Kinds[random.Next(Kinds.Length)];
            var questionnaire = Questionnaires[random.Next(Questionnaires.Length)];
            var scored = kind == EngagementEventKinds.ResponseReceived && questionnaire != "-";
            events.Add(new EngagementEvent
            {
                Id = $"ev-{i}",
                Kind = kind,
                OccurredAt = Start.AddMinutes(random.Next(0, 120 * 24 * 60)), // January to April
                Protocol = Protocols[random.Next(Protocols.Length)],
                Questionnaire = questionnaire,
                AgeBand = AgeBands[random.Next(AgeBands.Length)],
                Language = Languages[random.Next(Languages.Length)],
                Channel = Channels[random.Next(Channels.Length)],
                Minutes = kind is EngagementEventKinds.ResponseReceived or EngagementEventKinds.RedFlagAcknowledged ? random.Next(0, 20_000) : null,
                Score = scored ? random.Next(0, 28) : null,
                PatientId = scored ? $"pat-{random.Next(patients)}" : null,
            });
        }

        return events;
    }

    [Fact]
    public async Task Any_period_reads_what_counting_its_events_gives_when_two_processes_recorded_them_concurrently_with_repeats()
    {
        var (a, b) = TwoProcesses();
        var events = RandomEvents(2_400, 260);
        // Each event once through one process or the other, interleaved; every tenth again through the other process.
        var recorded = await Task.WhenAll(events.Select((e, i) => (i % 2 == 0 ? a : b).RecordAsync(e, CancellationToken.None)));
        Assert.All(recorded, Assert.True);
        var repeats = await Task.WhenAll(events.Where((_, i) => i % 10 == 0).Select((e, i) => (i % 2 == 0 ? b : a).RecordAsync(e, CancellationToken.None)));
        Assert.All(repeats, Assert.False);
        Assert.Equal(0, await a.RecordManyAsync(events.Take(300), CancellationToken.None));

        (DateOnly From, DateOnly To)[] periods =
        [
            (new(2025, 1, 1), new(2025, 4, 30)),   // whole months
            (new(2025, 1, 15), new(2025, 3, 10)),  // part, whole, part
            (new(2025, 2, 3), new(2025, 2, 3)),    // one day
            (new(2025, 3, 1), new(2025, 3, 31)),   // one whole month
            (new(2024, 12, 20), new(2025, 1, 2)),  // across a year, part empty
            (new(2025, 6, 1), new(2025, 6, 30)),   // nothing recorded
        ];
        foreach (var (from, to) in periods)
        {
            foreach (var protocol in new string?[] { null, "heart-failure" })
            {
                var expected = Oracle(events, from, to, protocol);
                var read = await b.ReadAsync(from, to, protocol, CancellationToken.None);
                Assert.Equal(expected, Describe(read));
            }
        }

        // The same through the snapshot the reports use: the whole equals the sum of any dimension's strata.
        var snapshot = new MeasuresSnapshot(new MeasuresQuery(new(2025, 1, 15), new(2025, 3, 10), null),
            await a.ReadAsync(new(2025, 1, 15), new(2025, 3, 10), null, CancellationToken.None), [], Start);
        foreach (var dimension in MeasuresSnapshot.Dimensions)
        {
            Assert.Equal(snapshot.Whole.All.Count(EngagementEventKinds.MessageSent),
                snapshot.ValuesOf(dimension).Sum(v => snapshot.Stratum(dimension, v).All.Count(EngagementEventKinds.MessageSent)));
        }

        Assert.True(snapshot.Whole.All.Count(EngagementEventKinds.MessageSent) > 0);
    }

    [Fact]
    public async Task Score_trend_summaries_match_each_patients_first_and_last_score_for_any_period_of_first_scores_and_keep_the_200_earliest_patients()
    {
        var (a, b) = TwoProcesses();
        var random = new Random(7);
        var events = Enumerable.Range(0, 900).Select(i => new EngagementEvent
        {
            Id = $"response-{i}",
            Kind = EngagementEventKinds.ResponseReceived,
            OccurredAt = Start.AddMinutes(random.Next(0, 60 * 24 * 60)),
            Protocol = i % 5 == 0 ? "heart-failure" : "post-discharge",
            Questionnaire = Questionnaires[i % 7 == 0 ? 2 : 1],
            Minutes = random.Next(0, 3000),
            Score = random.Next(0, 28),
            PatientId = $"pat-{random.Next(400)}",
        }).ToList();
        await Task.WhenAll(events.Select((e, i) => (i % 2 == 0 ? a : b).RecordAsync(e, CancellationToken.None)));
        await Task.WhenAll(events.Take(50).Select(e => b.RecordAsync(e, CancellationToken.None))); // repeats change nothing

        // Without a period every patient; with one, the patients whose first score falls in it (UTC dates, inclusive):
        // whole months (month rows), parts of months (day rows), one day, across the month end, and a month with none.
        var day = DateOnly.FromDateTime(Start.UtcDateTime);
        (DateOnly From, DateOnly To)?[] periods =
        [
            null, (day, day.AddDays(30)), (day.AddDays(9), day.AddDays(50)), (day.AddDays(31), day.AddDays(31)),
            (day.AddDays(20), day.AddDays(40)), (day.AddDays(-31), day.AddDays(-1)), (day.AddDays(-3), day.AddDays(364)),
        ];
        var cut = false;
        foreach (var period in periods)
        {
            var expected = events
                .GroupBy(e => (e.Protocol!, e.Questionnaire!))
                .Select(g => (g.Key, Patients: g.GroupBy(e => e.PatientId!).Select(p =>
                {
                    var ordered = p.OrderBy(e => e.OccurredAt).ToList();
                    return (Patient: p.Key, FirstAt: ordered[0].OccurredAt, First: (double)ordered[0].Score!, Last: (double)ordered[^1].Score!, Responses: ordered.Count);
                }).Where(p => period is not { } range || (DateOnly.FromDateTime(p.FirstAt.UtcDateTime) >= range.From && DateOnly.FromDateTime(p.FirstAt.UtcDateTime) <= range.To)).ToList()))
                .Where(g => g.Patients.Count > 0)
                .OrderBy(g => g.Key.Item2, StringComparer.Ordinal).ThenBy(g => g.Key.Item1, StringComparer.Ordinal)
                .Select(g =>
                {
                    var repeated = g.Patients.Where(p => p.Responses > 1).ToList();
                    return $"{g.Key.Item1} {g.Key.Item2} {g.Patients.Count}/{repeated.Count} {repeated.Sum(p => p.Last - p.First)} +{repeated.Count(p => p.Last > p.First)} -{repeated.Count(p => p.Last < p.First)} "
                        + string.Join(" ", g.Patients.OrderBy(p => p.FirstAt).ThenBy(p => p.Patient, StringComparer.Ordinal).Take(200).Select(p => $"{p.Patient}:{p.First}->{p.Last}({p.Responses})"));
                }).ToList();
            var read = (await a.ScoreTrendsAsync(null, period?.From, period?.To, CancellationToken.None)).Select(t =>
                $"{t.Protocol} {t.Questionnaire} {t.Patients}/{t.PatientsWithRepeat} {t.ChangeSum} +{t.Worsened} -{t.Improved} "
                + string.Join(" ", t.Sample.Select(p => $"{p.PatientId}:{p.FirstScore}->{p.LastScore}({p.Responses})"))).ToList();
            Assert.True(expected.SequenceEqual(read), $"period {period}:\nexpected\n{string.Join("\n", expected)}\nread\n{string.Join("\n", read)}");
            cut |= read.Any(r => r.Split(' ').Length > 200);
            Assert.Equal(period is { } p && p.To < day, read.Count == 0); // December has no first scores; every other period has some
        }

        Assert.True(cut); // some summary's sample was cut at 200 patients
        Assert.All(await b.ScoreTrendsAsync("heart-failure", null, null, CancellationToken.None), t => Assert.Equal("heart-failure", t.Protocol));
        Assert.All(await b.ScoreTrendsAsync("heart-failure", day, day.AddDays(59), CancellationToken.None), t => Assert.Equal("heart-failure", t.Protocol));
    }

    [Fact]
    public async Task A_care_team_Task_stored_as_acknowledged_records_the_acknowledgement_once_and_leaves_the_open_items()
    {
        var (store, _) = TwoProcesses();
        var observer = new TaskAcknowledgementObserver(store, TimeProvider.System);
        var raised = new DateTimeOffset(2025, 3, 4, 9, 0, 0, TimeSpan.Zero);
        await store.RememberRunAsync("run-1", new RunCohort("post-discharge", "40-64", "es", "sms"), CancellationToken.None);
        Assert.True(await store.RecordAsync(new EngagementEvent { Id = "red-flag-t1", Kind = EngagementEventKinds.RedFlagRaised, OccurredAt = raised, InstanceId = "run-1", TaskId = "t1" }, CancellationToken.None));
        Assert.True(await store.RecordAsync(new EngagementEvent { Id = "escalation-t2", Kind = EngagementEventKinds.EscalationRaised, OccurredAt = raised, InstanceId = "run-1", TaskId = "t2" }, CancellationToken.None));

        StoredResource Stored(string id, Hl7.Fhir.Model.Task.TaskStatus status, DateTimeOffset at) =>
            new(new Hl7.Fhir.Model.Task { Id = id, Status = status, Meta = new Meta { LastUpdated = at } }, "\"1\"", "pat-1");

        // Still requested: nothing changes. Another Task (not raised by us) accepted: nothing either.
        await observer.StoredAsync(Stored("t1", Hl7.Fhir.Model.Task.TaskStatus.Requested, raised.AddMinutes(5)), CancellationToken.None);
        await observer.StoredAsync(Stored("other", Hl7.Fhir.Model.Task.TaskStatus.Completed, raised.AddMinutes(5)), CancellationToken.None);
        Assert.Equal(["t1", "t2"], (await store.OpenItemsAsync(null, CancellationToken.None)).Select(o => o.TaskId).Order(StringComparer.Ordinal));

        // Accepted 45 minutes after it was raised; stored again (a retried step): counted once.
        await observer.StoredAsync(Stored("t1", Hl7.Fhir.Model.Task.TaskStatus.Accepted, raised.AddMinutes(45)), CancellationToken.None);
        await observer.StoredAsync(Stored("t1", Hl7.Fhir.Model.Task.TaskStatus.Completed, raised.AddMinutes(90)), CancellationToken.None);
        Assert.Equal(["t2"], (await store.OpenItemsAsync(null, CancellationToken.None)).Select(o => o.TaskId));
        var day = DateOnly.FromDateTime(raised.UtcDateTime);
        var snapshot = new MeasuresSnapshot(new MeasuresQuery(day, day, null), await store.ReadAsync(day, day, null, CancellationToken.None), [], Start);
        var figures = MeasuresSnapshot.Compute("red-flag-acknowledgement-time", snapshot.Whole);
        Assert.Equal(new MeasureFigures(1, 1, 0, 60), figures); // 45 minutes is in the bin up to 60
        Assert.Equal(1, snapshot.Stratum("language", "es").All.Count(EngagementEventKinds.RedFlagAcknowledged));
        Assert.Equal(0, snapshot.Whole.All.Count(EngagementEventKinds.EscalationAcknowledged));
    }

    /// <summary>What counting the period's events gives, described like <see cref="Describe"/>.</summary>
    private static string Oracle(IEnumerable<EngagementEvent> events, DateOnly from, DateOnly to, string? protocol)
    {
        var byProtocol = new SortedDictionary<string, EngagementAggregate>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            var day = DateOnly.FromDateTime(e.OccurredAt.UtcDateTime);
            if (day < from || day > to || (protocol is not null && e.Protocol != protocol))
            {
                continue;
            }

            if (!byProtocol.TryGetValue(e.Protocol!, out var aggregate))
            {
                byProtocol[e.Protocol!] = aggregate = new EngagementAggregate();
            }

            aggregate.Apply(e, day.DayNumber);
        }

        return Describe(byProtocol);
    }

    private static string Describe(IReadOnlyDictionary<string, EngagementAggregate> protocols) =>
        string.Join("\n", protocols.OrderBy(p => p.Key, StringComparer.Ordinal).SelectMany(p =>
            p.Value.Margins.Where(m => m.Value.Counts.Values.Any(c => c != 0))
                .OrderBy(m => (m.Key.Questionnaire, m.Key.Dimension, m.Key.Value))
                .Select(m => $"{p.Key} {(m.Key.Questionnaire ? "q" : "-")} {m.Key.Dimension}={m.Key.Value}: {EngagementRecorderBatchTests.Describe(m.Value)}")
                .Concat(p.Value.Days.Select(d => $"{p.Key} {DateOnly.FromDayNumber(d.Key.Day):yyyy-MM-dd} {(d.Key.Questionnaire ? "q" : "-")}: {EngagementRecorderBatchTests.Describe(d.Value)}"))));
}
