using System.Collections.Concurrent;
using System.Net;
using Engagement.Integration.Tests.Infrastructure;

namespace Engagement.Reliability;

/// <summary>
/// At-least-once delivery from the EHR: every notification arrives three times, shuffled, from 8 concurrent
/// senders. Exactly one follow-up per notification, and no outbound message, Task or Communication twice.
/// </summary>
public sealed class RedeliveryTests
{
    [Fact]
    public async Task Every_notification_delivered_three_times_in_shuffled_order_starts_exactly_one_follow_up_and_sends_nothing_twice()
    {
        var count = int.TryParse(Environment.GetEnvironmentVariable("ENGAGEMENT_RELIABILITY_REDELIVERY"), out var n) ? n : ReliabilityRun.Size(20, 1000);
        // The protocol clock: 2 s per day in the short run. The long run's intake of 3,000 deliveries can take minutes on
        // this machine, and a run planned after the post-discharge protocol's response windows have all passed skips
        // every activity (PlanFollowUpActivity: the product's rule for a trigger that arrives too late) and sends
        // nothing; at 30 s per day the day-2 check-in's window lasts minutes.
        var secondsPerDay = ReliabilityRun.IsLong ? 30 : 2;
        await using var h = new ReliabilityHarness(secondsPerDay: secondsPerDay);
        await h.Host.StartAsync();
        var run = ReliabilityHarness.NewRun();
        var subscription = "sub-rel-" + run;
        var patients = Enumerable.Range(1, count).Select(i => ReliabilityHarness.PatientId(run, i)).ToList();
        var bodies = Enumerable.Range(1, count)
            .Select(i => ReliabilityHarness.Notification(subscription, i, patients[i - 1], $"enc-{run}-{i}"))
            .ToList();
        await h.PutPatientsAsync(patients);
        await h.WaitForPatientsStoredAsync(patients);
        var deliveries = new ConcurrentQueue<string>(bodies.Concat(bodies).Concat(bodies).OrderBy(_ => Random.Shared.Next()));

        var statuses = new ConcurrentDictionary<string, int>();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (deliveries.TryDequeue(out var body))
            {
                var status = await h.PostAsync(body);
                statuses.AddOrUpdate(status?.ToString() ?? "no answer", 1, (_, n) => n + 1);
            }
        })));
        Assert.Equal(3 * count, statuses.GetValueOrDefault(nameof(HttpStatusCode.OK)));

        // Every run starts and sends its first message (the day-2 check-in); then freeze the state.
        var followUps = await Poll.UntilAsync(() => h.FollowUpCountsAsync(patients), c => c.Values.Sum() >= count && c.Values.All(v => v >= 1), TimeSpan.FromMinutes(ReliabilityRun.IsLong ? 20 : 5), "a follow-up per notification");
        try
        {
            await Poll.UntilAsync(async () => (await h.OutboxAsync()).Where(r => r.Status == "Sent").Select(r => r.PatientId).Distinct().Count(), n => n >= count, TimeSpan.FromMinutes(ReliabilityRun.IsLong ? 20 : 5), "a sent message per follow-up");
        }
        catch (TimeoutException ex)
        {
            var rows = await h.OutboxAsync();
            var silent = patients.First(p => !rows.Any(r => r.PatientId == p));
            var id = (await h.FollowUpsAsync(silent))[0];
            using var request = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/followups/{id}");
            using var response = await h.Host.Client.SendAsync(request);
            throw new TimeoutException($"{ex.Message}\noutbox: {string.Join(", ", rows.GroupBy(r => r.Status).Select(g => g.Key + " " + g.Count()))}\n{silent}: {await response.Content.ReadAsStringAsync()}\n{string.Join('\n', h.Host.Output.Where(l => l.Contains("warn", StringComparison.Ordinal) || l.Contains("fail", StringComparison.Ordinal)).Take(20))}", ex);
        }
        followUps = await h.FollowUpCountsAsync(patients);
        await h.Host.StopAsync(); // the dispatcher stops between sends: the outbox and the queue are compared at rest
        var outbox = await h.OutboxAsync();
        var queued = await h.QueueMessageIdsAsync();
        var patientSet = patients.ToHashSet();
        var tasks = await h.ResourcesAsync("Task", patientSet);
        var communications = await h.ResourcesAsync("Communication", patientSet);
        var sentIds = outbox.Where(r => r.Status == "Sent").Select(r => r.MessageId).ToHashSet();

        var duplicateQueued = queued.GroupBy(id => id).Count(g => g.Count() > 1);
        var duplicateTasks = tasks.Where(t => t.Identifiers.Length > 0).GroupBy(t => t.Identifiers).Count(g => g.Count() > 1);
        var duplicateCommunications = communications.Where(c => c.Identifiers.Length > 0).GroupBy(c => c.Identifiers).Count(g => g.Count() > 1);
        ReliabilityRun.Record("Redelivery", [
            ("distinct notifications", count),
            ("protocol clock (s per day)", secondsPerDay),
            ("deliveries (3 each, shuffled, 8 senders)", 3 * count),
            ("answers", string.Join(", ", statuses.Select(s => $"{s.Key} {s.Value}"))),
            ("follow-ups started", followUps.Values.Sum()),
            ("patients with more than one follow-up", followUps.Values.Count(v => v > 1)),
            ("outbox rows (distinct MessageId)", outbox.Count),
            ("outbox rows sent", sentIds.Count),
            ("queue messages", queued.Count),
            ("duplicate MessageIds on the queue", duplicateQueued),
            ("Tasks / duplicates by identifier", $"{tasks.Count} / {duplicateTasks}"),
            ("Communications / duplicates by identifier", $"{communications.Count} / {duplicateCommunications}"),
            ("setup: Patient deliveries answered 503 and delivered again", h.SetupRedeliveries),
        ]);

        Assert.Equal(count, followUps.Values.Sum());
        Assert.All(followUps.Values, v => Assert.Equal(1, v));
        Assert.Equal(outbox.Count, outbox.Select(r => r.MessageId).Distinct().Count());
        Assert.Equal(0, duplicateQueued);
        Assert.True(sentIds.SetEquals(queued), $"sent {sentIds.Count}, queued {queued.Count}: every sent message is on the queue once, nothing else is");
        Assert.Equal(0, duplicateTasks);
        Assert.Equal(0, duplicateCommunications);
    }
}
