using System.Collections.Concurrent;
using System.Net;
using Engagement.Integration.Tests.Infrastructure;

namespace Engagement.Reliability;

/// <summary>
/// Storage goes away under load: the test's own Azurite is stopped for about 10 seconds while 4 senders deliver
/// notifications, then started again with the same data folder and ports. While storage is down intake answers 503
/// (never 2xx, never another 5xx); the host — not restarted — recovers by itself (health 200, intake 2xx again, the
/// queue listener and the durable engine process again); every notification that got a 2xx has its follow-up, and
/// the EHR's retries of the refused ones are processed once. Last, every follow-up is cancelled and must stop: a run
/// listed but never running is found that way (asserted in the long variant; see the assertion).
/// </summary>
public sealed class StorageOutageTests
{
    private sealed record Delivery(int Index, DateTime Sent, DateTime Answered, HttpStatusCode? Status);

    [Fact]
    public async Task While_storage_is_down_intake_answers_503_the_host_recovers_by_itself_and_every_acknowledged_notification_is_processed()
    {
        var before = ReliabilityRun.Size(20, 300);
        var after = ReliabilityRun.Size(20, 300);
        var outage = TimeSpan.FromSeconds(10);
        await using var azurite = new PrivateAzurite();
        var storage = await azurite.StartAsync();
        // Production protocol clock: the runs start and then wait; outreach is not the subject here.
        await using var h = new ReliabilityHarness(storage, secondsPerDay: 86400);
        await h.Host.StartAsync();
        var run = ReliabilityHarness.NewRun();
        var subscription = "sub-outage-" + run;
        string Body(int i) => ReliabilityHarness.Notification(subscription, i + 1, ReliabilityHarness.PatientId(run, i + 1), $"enc-{run}-{i + 1}");

        var deliveries = new ConcurrentBag<Delivery>();
        var next = -1;
        var acknowledged = 0;
        using var stopSending = new CancellationTokenSource();
        var reachedBefore = new TaskCompletionSource();
        var recoveredAcks = 0;
        var recovered = false;
        var reachedAfter = new TaskCompletionSource();
        var senders = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stopSending.IsCancellationRequested)
            {
                var i = Interlocked.Increment(ref next);
                var sent = DateTime.UtcNow;
                var status = await h.PostAsync(Body(i));
                deliveries.Add(new Delivery(i, sent, DateTime.UtcNow, status));
                if (status is HttpStatusCode.OK)
                {
                    if (Interlocked.Increment(ref acknowledged) == before)
                    {
                        reachedBefore.TrySetResult();
                    }

                    if (Volatile.Read(ref recovered) && Interlocked.Increment(ref recoveredAcks) == after)
                    {
                        reachedAfter.TrySetResult();
                    }
                }
                else if (status is not HttpStatusCode.ServiceUnavailable)
                {
                    // Anything else ends the load; the assertions below say what it was.
                    reachedBefore.TrySetResult();
                    reachedAfter.TrySetResult();
                }

                // The EHR backs off after a 503 rather than hammering (and keeps the answer count small).
                await Task.Delay(status is HttpStatusCode.OK ? 0 : 200);
            }
        })).ToList();

        await reachedBefore.Task;
        var stopBegan = DateTime.UtcNow;
        await azurite.StopAsync();
        var stopped = DateTime.UtcNow;
        await Task.Delay(outage);
        var restartBegan = DateTime.UtcNow;
        await azurite.StartAsync();
        var restarted = DateTime.UtcNow;

        // The host was not restarted: it finds storage again by itself.
        var healthy = await Poll.UntilAsync(HealthAsync, s => s == HttpStatusCode.OK, TimeSpan.FromMinutes(3), "the host healthy again");
        Volatile.Write(ref recovered, true);
        await Task.WhenAny(reachedAfter.Task, Task.Delay(TimeSpan.FromMinutes(3)));
        await stopSending.CancelAsync();
        await Task.WhenAll(senders);
        Assert.True(h.Host.IsRunning, "the host process stayed up");

        var all = deliveries.OrderBy(d => d.Index).ToList();
        var during = all.Where(d => d.Sent >= stopped && d.Answered <= restartBegan).ToList();
        var ok = all.Where(d => d.Status == HttpStatusCode.OK).Select(d => d.Index).ToList();
        var refused = all.Where(d => d.Status != HttpStatusCode.OK).Select(d => d.Index).ToList();
        var patients = all.Select(d => ReliabilityHarness.PatientId(run, d.Index + 1)).ToList();
        var okPatients = ok.Select(i => ReliabilityHarness.PatientId(run, i + 1)).ToList();
        var processed = await Poll.UntilOrLastAsync(() => h.FollowUpCountsAsync(okPatients), c => c.Values.All(v => v >= 1), TimeSpan.FromMinutes(ReliabilityRun.IsLong ? 20 : 15), "a follow-up for every acknowledged notification");

        // The EHR retries what it got no 2xx for.
        var retried = new ConcurrentBag<HttpStatusCode?>();
        await Parallel.ForEachAsync(refused, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, ct) => retried.Add(await h.PostAsync(Body(i), cancellationToken: ct)));
        var final = await Poll.UntilOrLastAsync(() => h.FollowUpCountsAsync(patients), c => c.Values.All(v => v >= 1), TimeSpan.FromMinutes(ReliabilityRun.IsLong ? 20 : 5), "a follow-up for every notification after the retries");

        // Every run is alive: asked to stop, each one stops. A start message stored twice (a create cut off by the outage)
        // leaves a run the engine can never load, listed as a follow-up but never running.
        await h.CancelAllFollowUpsAsync(patients);
        var stuck = await Poll.UntilOrLastAsync(() => h.RunningFollowUpsAsync(patients), r => r.Count == 0, TimeSpan.FromMinutes(ReliabilityRun.IsLong ? 5 : 3), "every follow-up stopped");

        // The host's log is kept (ids and codes only), so a failed run can be explained afterwards.
        var output = h.Host.Output.ToArray();
        var log = ReliabilityRun.KeepLog("storage-outage-host", output);
        var unprocessed = ok.Where(i => processed[ReliabilityHarness.PatientId(run, i + 1)] < 1).ToList();

        static string Count(IEnumerable<Delivery> ds) => string.Join(", ", ds.GroupBy(d => d.Status is { } s ? ((int)s).ToString(System.Globalization.CultureInfo.InvariantCulture) : "no answer").OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} × {g.Count()}"));
        ReliabilityRun.Record("Storage outage (own Azurite stopped ~10 s, 4 senders)", [
            ("outage (Azurite stopped → started again, same folder and ports)", $"{(restartBegan - stopped).TotalSeconds:0.0} s (stop took {(stopped - stopBegan).TotalSeconds:0.0} s, start {(restarted - restartBegan).TotalSeconds:0.0} s)"),
            ("notifications sent", all.Count),
            ("answers before the outage", Count(all.Where(d => d.Answered < stopBegan))),
            ("answers sent and answered while storage was down", Count(during)),
            ("answers overlapping the stop or the restart", Count(all.Where(d => d.Answered >= stopBegan && d.Sent <= restarted && !during.Contains(d)))),
            ("answers after the restart", Count(all.Where(d => d.Sent > restarted))),
            ("host restarted", "no"),
            ("health after the restart", (int)healthy),
            ("2xx'd and processed (follow-up exists)", $"{ok.Count(i => processed[ReliabilityHarness.PatientId(run, i + 1)] >= 1)} of {ok.Count}"),
            ("retries of the refused ones answered 2xx", $"{retried.Count(s => s == HttpStatusCode.OK)} of {refused.Count}"),
            ("follow-ups after the retries / patients with more than one", $"{final.Values.Sum()} / {final.Values.Count(v => v > 1)}"),
            ("follow-up reads answered 503 and asked again while counting", h.ReadsUnavailable),
            ("starts found claimed but not made (left pending, retried after the claim's lease)", output.Count(l => l.Contains("is claimed by another start that has not created it", StringComparison.Ordinal))),
            ("claims taken over after their lease", output.Count(l => l.Contains("this start takes it over", StringComparison.Ordinal))),
            ("follow-ups that did not stop when cancelled (a run the engine cannot load)", stuck.Count),
            ("durable work items that failed with \"Multiple ExecutionStartedEvent found\" (host log)", output.Count(l => l.Contains("Multiple ExecutionStartedEvent found", StringComparison.Ordinal))),
            ("host warnings (most frequent)", string.Join("; ", ReliabilityRun.Warnings(output, 6))),
        ]);

        Assert.NotEmpty(during); // the load went on through the outage
        Assert.All(during, d => Assert.Equal(HttpStatusCode.ServiceUnavailable, d.Status));
        Assert.All(all, d => Assert.True(d.Status is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"notification {d.Index}: {d.Status?.ToString() ?? "no answer"}"));
        Assert.True(recoveredAcks >= after, $"intake accepted {recoveredAcks} notifications after storage came back");
        Assert.True(unprocessed.Count == 0, $"acknowledged but no follow-up: notifications {string.Join(", ", unprocessed)}; host log {log}");
        Assert.All(ok, i => Assert.Equal(1, processed[ReliabilityHarness.PatientId(run, i + 1)]));
        Assert.All(retried, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.All(final.Values, v => Assert.Equal(1, v));
        if (ReliabilityRun.IsLong)
        {
            // Asserted in the long variant only, for now: after the outage a few runs do not stop (4 of about 630 in each
            // long run of 2026-12-08), an open defect (docs/reliability.md). The short variant records the figure.
            Assert.True(stuck.Count == 0, $"follow-ups that did not stop when cancelled: {string.Join(", ", stuck)}; host log {log}");
        }

        async Task<HttpStatusCode> HealthAsync()
        {
            try
            {
                using var response = await h.Host.Client.GetAsync(new Uri("/api/health", UriKind.Relative));
                return response.StatusCode;
            }
            catch (HttpRequestException)
            {
                return HttpStatusCode.ServiceUnavailable;
            }
        }
    }
}
