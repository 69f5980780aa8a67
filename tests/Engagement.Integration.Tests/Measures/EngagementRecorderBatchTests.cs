using Engagement.Integration.Tests.Infrastructure;
using Engagement.Measures;
using Engagement.Measures.AzureStorage;
using Microsoft.Extensions.Options;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Measures;

/// <summary>
/// <see cref="TableEngagementStore.RecordManyAsync"/> (backfills, the measures benchmark's seeding) ends in the same
/// aggregates, open items and score trends as <see cref="TableEngagementStore.RecordAsync"/> called event by event, and
/// stays idempotent: repeats in the input and events recorded before count once.
/// </summary>
public sealed class EngagementRecorderBatchTests
{
    private static readonly DateTimeOffset Day = new(2025, 3, 4, 9, 0, 0, TimeSpan.Zero);
    private const string Phq9 = "http://engagement-functions.org/fhir/Questionnaire/phq-9|0.1.0";

    private static TableEngagementStore NewStore() => new(
        TestEnvironment.StorageClients(),
        Options.Create(new MeasuresOptions { TableName = "Measures" + Guid.NewGuid().ToString("N")[..12] }));

    private static List<EngagementEvent> Events()
    {
        var events = new List<EngagementEvent>();
        for (var run = 0; run < 3; run++)
        {
            var instance = "run-" + run;
            events.Add(new() { Id = "engaged-" + instance, Kind = EngagementEventKinds.Engaged, OccurredAt = Day, InstanceId = instance });
            for (var k = 0; k < 2; k++)
            {
                var due = Day.AddDays(k);
                events.Add(new() { Id = $"due-{instance}-{k}", Kind = EngagementEventKinds.ActivityDue, OccurredAt = due, InstanceId = instance, Questionnaire = Phq9 });
                events.Add(new() { Id = $"msg-{instance}-{k}", Kind = EngagementEventKinds.MessageSent, OccurredAt = due, InstanceId = instance, Protocol = "p1", Language = "en", Channel = "sms" });
                events.Add(new() { Id = $"response-{instance}-{k}", Kind = EngagementEventKinds.ResponseReceived, OccurredAt = due.AddMinutes(40 * (run + 1)), InstanceId = instance, Questionnaire = Phq9, PatientId = "pat-" + run, Minutes = 40 * (run + 1), Score = 10 - (run * 3) - k });
            }
        }

        events.Add(new() { Id = "red-flag-rf-1", Kind = EngagementEventKinds.RedFlagRaised, OccurredAt = Day.AddHours(1), InstanceId = "run-1", Questionnaire = Phq9, TaskId = "rf-1" });
        events.Add(new() { Id = "red-flag-rf-2", Kind = EngagementEventKinds.RedFlagRaised, OccurredAt = Day.AddHours(2), InstanceId = "run-2", Questionnaire = Phq9, TaskId = "rf-2" });
        events.Add(new() { Id = "ack-rf-1", Kind = EngagementEventKinds.RedFlagAcknowledged, OccurredAt = Day.AddHours(3), InstanceId = "run-1", Minutes = 120, TaskId = "rf-1" });
        return events;
    }

    private static async Task RememberRunsAsync(TableEngagementStore store)
    {
        for (var run = 0; run < 3; run++)
        {
            await store.RememberRunAsync("run-" + run, new RunCohort("p1", run == 0 ? "40-64" : "65-79", "en", "sms"), CancellationToken.None);
        }
    }

    private static async Task<string> DescribeAsync(TableEngagementStore store)
    {
        var protocols = await store.ReadAsync(DateOnly.FromDateTime(Day.UtcDateTime), DateOnly.FromDateTime(Day.UtcDateTime).AddDays(2), null, CancellationToken.None);
        var buckets = protocols.OrderBy(p => p.Key, StringComparer.Ordinal).SelectMany(p =>
            p.Value.Margins.OrderBy(m => (m.Key.Questionnaire, m.Key.Dimension, m.Key.Value)).Select(m => $"{p.Key} {(m.Key.Questionnaire ? "q" : "-")} {m.Key.Dimension}={m.Key.Value}: {Describe(m.Value)}")
                .Concat(p.Value.Days.Select(d => $"{p.Key} {DateOnly.FromDayNumber(d.Key.Day):yyyy-MM-dd} {(d.Key.Questionnaire ? "q" : "-")}: {Describe(d.Value)}")));
        var open = (await store.OpenItemsAsync(null, CancellationToken.None)).Select(o => $"open {o.TaskId} {o.Kind} {o.Protocol} {o.AgeBand}").Order(StringComparer.Ordinal);
        var day = DateOnly.FromDateTime(Day.UtcDateTime);
        var trends = (await store.ScoreTrendsAsync(null, null, null, CancellationToken.None))
            .Concat(await store.ScoreTrendsAsync(null, day, day, CancellationToken.None))
            .Select(t => $"trend {t.Protocol} {t.Questionnaire} {t.Patients}/{t.PatientsWithRepeat} {t.ChangeSum} +{t.Worsened} -{t.Improved} "
                + string.Join(" ", t.Sample.Select(p => $"{p.PatientId}:{p.FirstScore}->{p.LastScore}({p.Responses})"))).Order(StringComparer.Ordinal);
        return string.Join("\n", buckets.Concat(open).Concat(trends));
    }

    internal static string Describe(EngagementBucket bucket) =>
        string.Join(",", bucket.Counts.Where(c => c.Value != 0).OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}={c.Value}"))
        + $" ttr={string.Join(",", bucket.RespondMinutes)} ack={string.Join(",", bucket.AcknowledgeMinutes)} sum={bucket.ScoreSum}";

    [Fact]
    public async Task Recording_many_at_once_ends_where_recording_one_by_one_does()
    {
        var one = NewStore();
        await RememberRunsAsync(one);
        foreach (var e in Events())
        {
            Assert.True(await one.RecordAsync(e, CancellationToken.None));
        }

        var many = NewStore();
        await RememberRunsAsync(many);
        var events = Events();
        // Recorded before (a first delivery), and repeated in the input (a redelivery in the same batch): each counts once.
        Assert.True(await many.RecordAsync(events[2], CancellationToken.None));
        Assert.Equal(events.Count - 1, await many.RecordManyAsync([.. events, events[5]], CancellationToken.None));

        var expected = await DescribeAsync(one);
        Assert.Contains("response_received", expected.Replace('-', '_'), StringComparison.Ordinal);
        Assert.Equal(expected, await DescribeAsync(many));
        Assert.Equal(0, await many.RecordManyAsync(Events(), CancellationToken.None));
        Assert.Equal(expected, await DescribeAsync(many));
    }
}
