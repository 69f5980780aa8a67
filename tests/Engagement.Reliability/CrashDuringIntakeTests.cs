using System.Collections.Concurrent;
using System.Net;
using Engagement.Integration.Tests.Infrastructure;

namespace Engagement.Reliability;

/// <summary>
/// kill -9 of the host while 8 senders deliver notifications: every notification that got a 2xx is processed
/// after the restart; one that got no 2xx is either fully processed or not at all (never half), and when the EHR
/// retries it, it is processed exactly once.
/// </summary>
public sealed class CrashDuringIntakeTests
{
    [Fact]
    public async Task Killed_while_accepting_notifications_every_acknowledged_one_is_processed_after_restart_and_nothing_is_half_written()
    {
        var count = ReliabilityRun.Size(30, 1000);
        // Production protocol clock: the runs start and then wait; outreach is not the subject here.
        await using var h = new ReliabilityHarness(secondsPerDay: 86400);
        await h.Host.StartAsync();
        var run = ReliabilityHarness.NewRun();
        var subscription = "sub-crash-" + run;
        var patients = Enumerable.Range(1, count).Select(i => ReliabilityHarness.PatientId(run, i)).ToList();
        await h.PutPatientsAsync(patients);
        var bodies = Enumerable.Range(1, count).Select(i => ReliabilityHarness.Notification(subscription, i, patients[i - 1], $"enc-{run}-{i}")).ToList();

        var answers = new ConcurrentDictionary<int, HttpStatusCode?>();
        var next = -1;
        var acknowledged = 0;
        var killAt = count / 2;
        var killed = new TaskCompletionSource();
        var senders = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var status = await h.PostAsync(bodies[i]);
                answers[i] = status;
                if (status is HttpStatusCode.OK && Interlocked.Increment(ref acknowledged) == killAt)
                {
                    killed.TrySetResult();
                }
            }
        })).ToList();
        await killed.Task;
        await h.Host.KillAsync();
        await Task.WhenAll(senders);

        var ok = answers.Where(a => a.Value == HttpStatusCode.OK).Select(a => a.Key).ToList();
        var notOk = answers.Where(a => a.Value != HttpStatusCode.OK).Select(a => a.Key).ToList();
        await h.Host.StartAsync();
        var afterRestart = await Poll.UntilAsync(() => h.FollowUpCountsAsync(patients), c => ok.All(i => c[patients[i]] == 1), TimeSpan.FromMinutes(ReliabilityRun.IsLong ? 20 : 4), "a follow-up for every acknowledged notification");
        var notOkProcessed = notOk.Count(i => afterRestart[patients[i]] == 1);

        // The EHR retries what it got no 2xx for.
        var retried = new ConcurrentBag<HttpStatusCode?>();
        await Parallel.ForEachAsync(notOk, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) => retried.Add(await h.PostAsync(bodies[i], cancellationToken: ct)));
        var final = await Poll.UntilAsync(() => h.FollowUpCountsAsync(patients), c => c.Values.All(v => v == 1), TimeSpan.FromMinutes(ReliabilityRun.IsLong ? 20 : 4), "a follow-up for every notification after the retries");

        ReliabilityRun.Record("Crash during intake (kill -9)", [
            ("notifications", count),
            ("answered 2xx before the kill", ok.Count),
            ("not 2xx (refused or connection lost)", notOk.Count),
            ("2xx'd and processed after restart", ok.Count(i => afterRestart[patients[i]] == 1)),
            ("not-2xx but fully processed anyway (stored before the kill)", notOkProcessed),
            ("follow-up counts other than 0 or 1 after restart", afterRestart.Values.Count(v => v > 1)),
            ("retries answered 2xx", retried.Count(s => s == HttpStatusCode.OK)),
            ("follow-ups after retries / duplicates", $"{final.Values.Sum()} / {final.Values.Count(v => v > 1)}"),
            ("setup: Patient deliveries answered 503 and delivered again", h.SetupRedeliveries),
        ]);

        Assert.All(ok, i => Assert.Equal(1, afterRestart[patients[i]]));
        Assert.All(afterRestart.Values, v => Assert.InRange(v, 0, 1));
        Assert.All(retried, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(count, final.Values.Sum());
    }
}
