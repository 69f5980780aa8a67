using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Outreach;

namespace Engagement.Reliability;

/// <summary>
/// Issue 4's second measure: storage operations per protocol step. The host's storage goes through a counting proxy
/// (<see cref="StorageProxy"/>), so every request it makes to Azurite is counted, by service, resource and operation.
/// <para>
/// How requests are attributed to steps. The idle host is measured first (nothing to do: the pollers alone) and again
/// after the runs; the (service, resource, operation) keys seen while idle are the pollers'. Patients are discharged one
/// at a time: accept = the notification's HTTP request; process = from its 2xx to the durable engine's first dequeue of
/// the new run's start message; start = from there until no request other than a poller's has come for
/// <see cref="Quiet"/>. All the patients share one discharge time, so every later step of the post-discharge protocol
/// happens for all of them at the same planned instant (anchor + day × SecondsPerDay), and a step's window runs from
/// its instant to the next step's. The patients answer the day-7 PHQ-9 through their engagement links (test-side
/// windows: the page's GET, then the POST and what the run does with the answer) and leave the check-in and the day-30
/// PHQ-9 unanswered (two reminders, then escalation). A step's figure per patient: the requests in its windows other
/// than the pollers' (exact counts), and apart the pollers' requests above their idle rate over the windows' duration.
/// </para>
/// Figures go to the results file, and a per-key table to <c>storage-operations-{size}.md</c> beside it. The
/// assertions are robust facts only: every request forwarded, every run did what the script says, every step did work.
/// </summary>
public sealed class StorageOperationsTests
{
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1.5);

    private static DateTimeOffset Now => DateTimeOffset.UtcNow;

    [Fact]
    public async Task Storage_operations_per_step_of_the_post_discharge_protocol()
    {
        var count = ReliabilityRun.Size(2, 10);
        var secondsPerDay = ReliabilityRun.IsLong ? 20.0 : 3.0;
        var idle = TimeSpan.FromSeconds(ReliabilityRun.Size(10, 30));
        var intakeBudget = TimeSpan.FromSeconds(5); // per patient, sequential: day 0 of every run before the first day-2 step

        await using var proxy = new StorageProxy(TestEnvironment.StorageConnectionString);
        await proxy.StartAsync();
        await using var h = new ReliabilityHarness(secondsPerDay: secondsPerDay, configure: s =>
        {
            s["AzureWebJobsStorage"] = proxy.ConnectionString;
            // Production's intake sweep, not the reliability suite's 1 s.
            s.Remove("Engagement__Intake__SweepInterval");
            s.Remove("Engagement__Intake__RedriveAfter");
        });
        proxy.Name(h.Host.Settings["Engagement__Durable__TaskHubName"]!, StorageRequest.EngineMarker);
        proxy.Name(h.OutboxTable, "Outbox");
        proxy.Name(h.Host.Settings["Engagement__Measures__TableName"]!, "EngagementMeasures");
        proxy.Name(h.Host.Settings["Engagement__WriteBack__TableName"]!, "WriteBack");
        proxy.Name(h.QueueName, "outreach");
        proxy.Name(h.Prefix, "Intake");

        var hostStart = Now;
        await h.Host.StartAsync();
        var hostReady = Now;

        var run = ReliabilityHarness.NewRun();
        var patients = Enumerable.Range(1, count).Select(i => ReliabilityHarness.PatientId(run, i)).ToList();
        await h.PutPatientsAsync(patients);
        await h.WaitForPatientsStoredAsync(patients);

        // Idle: the pollers back off to their idle interval, then nothing happens for a while.
        await Task.Delay(TimeSpan.FromSeconds(5));
        var idleFrom = Now;
        await Task.Delay(idle);
        var idleTo = Now;
        var idleRequests = proxy.Requests.Where(r => r.At >= idleFrom && r.At < idleTo).ToList();
        var idleRate = idleRequests.GroupBy(r => r.Key).ToDictionary(g => g.Key, g => g.Count() / (idleTo - idleFrom).TotalSeconds);
        var background = idleRate.Keys.ToHashSet();

        // Day 0, one patient at a time. Every Encounter ends at the same instant, chosen so that day 2 comes after all.
        var windows = new List<(string Step, DateTimeOffset From, DateTimeOffset To)>();
        var dayZero = Now;
        var anchor = dayZero + (intakeBudget * count) + TimeSpan.FromSeconds(1) - TimeSpan.FromSeconds(2 * secondsPerDay);
        DateTimeOffset P(double day) => anchor + TimeSpan.FromSeconds(day * secondsPerDay);
        var subscription = "sub-storeops-" + run;
        var planEnds = new List<DateTimeOffset>();
        for (var i = 0; i < count; i++)
        {
            var body = ReliabilityHarness.Notification(subscription, i + 1, patients[i], $"enc-{run}-{i}", dischargedAt: anchor);
            var posted = Now;
            var status = await h.PostAsync(body);
            var accepted = Now;
            Assert.Equal(HttpStatusCode.OK, status);
            var patient = patients[i];
            await Poll.UntilAsync(() => CountAsync(h, "FhirResources", $"PartitionKey eq 'CarePlan' and Patient eq '{patient}'"), n => n > 0, TimeSpan.FromSeconds(60), "the run's CarePlan");
            var quiet = await WaitQuietAsync(proxy, background, accepted);
            var started = proxy.Requests.FirstOrDefault(r => r.At >= accepted && r.Resource.StartsWith(StorageRequest.EngineMarker + "-control", StringComparison.Ordinal) && r.Operation == "dequeue")?.At ?? quiet;
            windows.Add(("accept a discharge notification (the HTTP request)", posted, accepted));
            windows.Add(("process it (intake: journal, trigger, schedule the run)", accepted, started));
            windows.Add(("start the run (plan step: CarePlan, Tasks)", started, quiet));
            planEnds.Add(quiet);
        }

        var dayZeroOverran = planEnds[^1] > P(2);

        // Days 2–33 for all patients at once.
        await WaitUntilAsync(P(7));
        await Poll.UntilAsync(async () => (await LinksAsync(h, "phq-9-day-7")).Count, n => n == count, TimeSpan.FromSeconds(3 * secondsPerDay), "every day-7 PHQ-9 sent and dispatched");
        await Task.Delay(300);
        var links = await LinksAsync(h, "phq-9-day-7");
        var opened = Now;
        foreach (var patient in patients)
        {
            using var page = await h.Host.Client.GetAsync(new Uri($"/api/engage/{links[patient]}", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        }

        var submitted = Now;
        var postWindows = new List<(DateTimeOffset, DateTimeOffset)>();
        foreach (var patient in patients)
        {
            var from = Now;
            var (status, _) = await h.SubmitResponseAsync(links[patient], ReliabilityHarness.Phq9Response());
            postWindows.Add((from, Now));
            Assert.True(status is HttpStatusCode.OK or HttpStatusCode.Created, $"response: {status}");
        }

        var responsesLate = Now > P(8);
        await WaitUntilAsync(P(33) + TimeSpan.FromSeconds(Math.Max(3, secondsPerDay)));
        var instances = new List<string>();
        foreach (var patient in patients)
        {
            await foreach (var row in new TableClient(h.Storage, "FollowUps").QueryAsync<TableEntity>(e => e.PartitionKey == patient, select: ["RowKey"]))
            {
                instances.Add(row.RowKey);
            }
        }

        Assert.Equal(count, instances.Count);
        Task<int> HistoryAsync(string kind) => CountAsync(h, "FollowUpHistory", $"({string.Join(" or ", instances.Select(i => $"PartitionKey eq '{i}'"))}) and Kind eq '{kind}'");
        await Poll.UntilAsync(() => HistoryAsync("completed"), n => n == count, TimeSpan.FromSeconds(60), "every run completed");
        await Task.Delay(Quiet + TimeSpan.FromSeconds(1));
        var measuredTo = Now;

        // Idle again, now that subscriptions, runs and messages exist (some pollers find rows now): the keys seen in
        // either idle window are the pollers' and are left out of the steps' work.
        await Task.Delay(idle);
        var idleAfterTo = Now;
        var idleAfter = proxy.Requests.Where(r => r.At >= measuredTo && r.At < idleAfterTo).ToList();
        var idleAfterRate = idleAfter.GroupBy(r => r.Key).ToDictionary(g => g.Key, g => g.Count() / (idleAfterTo - measuredTo).TotalSeconds);
        background.UnionWith(idleAfterRate.Keys);
        var requests = proxy.Requests.Where(r => r.At < measuredTo).ToList();

        // Each later step's window runs from its planned instant to the next step's (the pollers' share is subtracted).
        windows.Add(("outreach send: check-in (day 2)", P(2), P(3)));
        windows.Add(("reminder 1: check-in (day 3)", P(3), P(4)));
        windows.Add(("reminder 2: check-in (day 4)", P(4), P(5)));
        windows.Add(("escalation: check-in (day 5)", P(5), P(7)));
        windows.Add(("outreach send: PHQ-9 (day 7)", P(7), opened));
        windows.Add(("patient opens the link (GET /api/engage/{token})", opened, submitted));
        // On a loaded machine the answers can come after the day-8 instant (flagged below): the window still holds the POSTs.
        var answered = postWindows[^1].Item2 > P(8) ? postWindows[^1].Item2 : P(8);
        windows.Add(("response submitted and recorded (POST, then the run's record step)", submitted, answered));
        windows.Add(("cancelled reminder timer fires anyway (day 8)", answered, P(30)));
        windows.Add(("outreach send: PHQ-9 (day 30)", P(30), P(31)));
        windows.Add(("reminder 1: PHQ-9 (day 31)", P(31), P(32)));
        windows.Add(("reminder 2: PHQ-9 (day 32)", P(32), P(33)));
        windows.Add(("escalation + completion (day 33)", P(33), measuredTo));

        var script = (Answered: await HistoryAsync("answered"), Escalated: await HistoryAsync("escalated"), Reminded: await HistoryAsync("reminded"), Sent: await HistoryAsync("sent"));

        // Per step and patient: the requests in its windows other than the pollers' (exact counts), and the pollers'
        // requests above their idle rate over the windows' duration (the engine polls faster right after work).
        var steps = windows.GroupBy(w => w.Step).Select(g =>
        {
            var duration = g.Sum(w => (w.To - w.From).TotalSeconds);
            var inWindows = g.SelectMany(w => requests.Where(r => r.At >= w.From && r.At < w.To)).ToList();
            var work = inWindows.Where(r => !background.Contains(r.Key)).GroupBy(r => r.Key)
                .Select(k => (Key: k.Key, Count: k.Count() / (double)count)).OrderByDescending(k => k.Count).ToList();
            double Polls(bool engine) => (inWindows.Count(r => background.Contains(r.Key) && r.IsEngine == engine)
                - idleAfterRate.Where(k => k.Key.Contains(StorageRequest.EngineMarker, StringComparison.Ordinal) == engine).Sum(k => k.Value * duration)) / count;
            // How long after its window opened the step's last non-poller request came (the longest over its windows):
            // close to the window's length means the work may have run on into the next step's window.
            var span = g.Max(w => requests.Where(r => r.At >= w.From && r.At < w.To && !background.Contains(r.Key)).Select(r => (r.At - w.From).TotalSeconds).DefaultIfEmpty(0).Max());
            return new Step(g.Key, duration / g.Count(), span, work, Polls(false), Polls(true));
        }).ToList();
        // The whole protocol per patient, whatever the windows: from the first notification to the end, pollers left out.
        var protocol = requests.Where(r => r.At >= dayZero && !background.Contains(r.Key)).ToList();
        string Total(bool engine) => string.Join("; ", protocol.Where(r => r.IsEngine == engine).GroupBy(r => r.Resource).OrderByDescending(g => g.Count())
            .Select(g => $"{g.Key} {Round(g.Count() / (double)count)}"));
        var requestPath = requests.Count(r => postWindows.Any(w => r.At >= w.Item1 && r.At < w.Item2) && !background.Contains(r.Key)) / (double)count;

        var hostStartCount = requests.Count(r => r.At >= hostStart && r.At < hostReady);
        var idleSeconds = (idleTo - idleFrom).TotalSeconds;
        var idleAfterSeconds = (idleAfterTo - measuredTo).TotalSeconds;
        string PerSecond(List<StorageRequest> rs, double seconds) => string.Join("; ", rs.GroupBy(r => r.Key).OrderByDescending(g => g.Count()).Select(g => $"{g.Key} {Round(g.Count() / seconds)}"));
        var figures = new List<(string, object)>
        {
            ("patients (sequential day 0, then all at the same planned instants)", count),
            ("seconds per protocol day", secondsPerDay),
            ("storage requests counted (every one forwarded to Azurite)", requests.Count + idleAfter.Count),
            ("requests the proxy failed to forward", proxy.Failures),
            ("host start until healthy: requests", hostStartCount),
            ("idle before (s measured): requests per second, ours / engine", $"({Round(idleSeconds)} s) {Round(idleRequests.Count(r => !r.IsEngine) / idleSeconds)} / {Round(idleRequests.Count(r => r.IsEngine) / idleSeconds)}"),
            ("idle after (s measured): requests per second, ours / engine", $"({Round(idleAfterSeconds)} s) {Round(idleAfter.Count(r => !r.IsEngine) / idleAfterSeconds)} / {Round(idleAfter.Count(r => r.IsEngine) / idleAfterSeconds)}"),
            ("idle before, per second by key", PerSecond(idleRequests, idleSeconds)),
            ("idle after, per second by key", PerSecond(idleAfter, idleAfterSeconds)),
            ("day 0 overran the first day-2 step (windows overlap)", dayZeroOverran ? "yes" : "no"),
            ("responses submitted after the day-8 reminder instant (windows overlap)", responsesLate ? "yes" : "no"),
            ("runs: answered / escalated / reminded / sent (expected 1 / 2 / 4 / 3 each)", $"{script.Answered} / {script.Escalated} / {script.Reminded} / {script.Sent}"),
            ("day-7 links ready, seconds after the day-7 instant", Round((opened - P(7)).TotalSeconds)),
            ("responses done, seconds after the day-7 instant (next step at one protocol day)", Round((postWindows[^1].Item2 - P(7)).TotalSeconds)),
            ("whole protocol per patient, pollers left out: ours / engine", $"{Round(protocol.Count(r => !r.IsEngine) / (double)count)} / {Round(protocol.Count(r => r.IsEngine) / (double)count)}"),
            ("whole protocol per patient by resource, ours", Total(false)),
            ("whole protocol per patient by resource, engine", Total(true)),
            ("response POST request path only (during the POSTs, pollers left out), per patient", Round(requestPath)),
        };
        foreach (var step in steps)
        {
            figures.Add(($"{step.Name}: ours / engine per patient, + polls above idle ours / engine (window {Round(step.Seconds)} s, last work after {Round(step.WorkSpan)} s)", $"{Round(step.Ours)} / {Round(step.Engine)}, + {Round(step.PollsOurs)} / {Round(step.PollsEngine)}"));
        }

        ReliabilityRun.Record("Storage operations per protocol step (post-discharge, counted at a proxy in front of Azurite)", figures);
        WriteTable(steps, idleRequests, idleSeconds, idleAfter, idleAfterSeconds, count, secondsPerDay);

        // The runs did what the script says: three sends each, and every occurrence ended answered or escalated (one
        // answer and two escalations as scripted; on a loaded machine a late answer can come after a reminder, or even
        // after its escalation — the figures flag it, the invariant holds).
        Assert.Equal(3 * count, script.Sent);
        Assert.Equal(3 * count, script.Answered + script.Escalated);
        Assert.InRange(script.Reminded, 4 * count, 6 * count);
        Assert.Equal(0, proxy.Failures);
        Assert.NotEmpty(requests);
        // Each step's work is attributed by its planned instant's window: a durable timer that fires late puts a short
        // step's work (a 3 s reminder window) into the next one. Most steps must show work; two empty windows are a late
        // timer on this 2-core box (seen 2 of 6 runs on 2026-11-25), not a step without storage work.
        var empty = steps.Where(s => !s.Name.StartsWith("cancelled", StringComparison.Ordinal) && s.Ours + s.Engine <= 0).Select(s => s.Name).ToList();
        Assert.True(empty.Count <= 2, "no storage work counted in: " + string.Join("; ", empty));
    }

    private sealed record Step(string Name, double Seconds, double WorkSpan, List<(string Key, double Count)> Work, double PollsOurs, double PollsEngine)
    {
        public double Ours => Work.Where(k => !k.Key.Contains(StorageRequest.EngineMarker, StringComparison.Ordinal)).Sum(k => k.Count);

        public double Engine => Work.Where(k => k.Key.Contains(StorageRequest.EngineMarker, StringComparison.Ordinal)).Sum(k => k.Count);
    }

    private static double Round(double value) => Math.Round(value, 1);

    /// <summary>Waits until no request outside the idle keys has come for <see cref="Quiet"/>; returns the last one's time.</summary>
    private static async Task<DateTimeOffset> WaitQuietAsync(StorageProxy proxy, HashSet<string> background, DateTimeOffset since)
    {
        var deadline = Now + TimeSpan.FromSeconds(60);
        while (Now < deadline)
        {
            var last = proxy.Requests.Where(r => r.At >= since && !background.Contains(r.Key)).Select(r => r.At).DefaultIfEmpty(since).Max();
            if (Now - last >= Quiet)
            {
                return last + TimeSpan.FromMilliseconds(50);
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("storage never went quiet");
    }

    private static async Task WaitUntilAsync(DateTimeOffset instant)
    {
        var wait = instant - Now;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }
    }

    /// <summary>Rows matching an OData filter, read straight from Azurite (not through the proxy: the test's reads are not counted).</summary>
    private static async Task<int> CountAsync(ReliabilityHarness h, string table, string filter)
    {
        var client = new TableClient(h.Storage, table);
        var n = 0;
        await foreach (var _ in client.QueryAsync<TableEntity>(filter, select: ["RowKey"]))
        {
            n++;
        }

        return n;
    }

    /// <summary>Patient → link token of the activity's message, for messages already dispatched (read from the outbox table directly).</summary>
    private static async Task<Dictionary<string, string>> LinksAsync(ReliabilityHarness h, string activityId)
    {
        var links = new Dictionary<string, string>();
        await foreach (var row in new TableClient(h.Storage, h.OutboxTable).QueryAsync<TableEntity>())
        {
            if (OutboxStore.IsPendingMarker(row.RowKey))
            {
                continue;
            }

            var message = JsonNode.Parse(row.GetString("Body"))!;
            if ((string?)message["ActivityId"] == activityId && row.GetString("Status") != "Pending" && (string?)message["Link"] is { } link)
            {
                links[(string)message["PatientId"]!] = link[(link.LastIndexOf('/') + 1)..];
            }
        }

        return links;
    }

    /// <summary>The per-resource table for docs/performance.md, beside the results file.</summary>
    private static void WriteTable(List<Step> steps, List<StorageRequest> idleBefore, double idleBeforeSeconds, List<StorageRequest> idleAfter, double idleAfterSeconds, int count, double secondsPerDay)
    {
        var text = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"# Storage operations per step ({(ReliabilityRun.IsLong ? "long" : "short")}, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)\n\n")
            .Append(CultureInfo.InvariantCulture, $"Command: `{ReliabilityRun.Command}`; {count} patients; {secondsPerDay} s per protocol day; {Environment.ProcessorCount} processors.\n\n")
            .Append("Per patient. Work = requests other than the pollers' (keys seen while idle), exact; polls = the pollers' requests above their idle rate. `service resource operation: n`.\n\n")
            .Append("| step | window s | last work after s | ours | engine | polls above idle, ours / engine | ours by key | engine by key |\n| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |\n");
        foreach (var step in steps)
        {
            string Detail(bool engine) => string.Join("<br>", step.Work
                .Where(k => k.Key.Contains(StorageRequest.EngineMarker, StringComparison.Ordinal) == engine)
                .Select(k => $"{k.Key}: {Round(k.Count).ToString(CultureInfo.InvariantCulture)}"));
            text.Append(CultureInfo.InvariantCulture, $"| {step.Name} | {Round(step.Seconds)} | {Round(step.WorkSpan)} | {Round(step.Ours)} | {Round(step.Engine)} | {Round(step.PollsOurs)} / {Round(step.PollsEngine)} | {Detail(false)} | {Detail(true)} |\n");
        }

        foreach (var (name, requests, seconds) in new[] { ("before the runs", idleBefore, idleBeforeSeconds), ("after the runs", idleAfter, idleAfterSeconds) })
        {
            text.Append(CultureInfo.InvariantCulture, $"\nIdle {name} ({Round(seconds)} s), requests per second:\n\n| key | per s |\n| --- | ---: |\n");
            foreach (var g in requests.GroupBy(r => r.Key).OrderByDescending(g => g.Count()))
            {
                text.Append(CultureInfo.InvariantCulture, $"| {g.Key} | {Math.Round(g.Count() / seconds, 2)} |\n");
            }
        }

        var file = Path.Combine(Path.GetDirectoryName(ReliabilityRun.ResultsFile)!, $"storage-operations-{(ReliabilityRun.IsLong ? "long" : "short")}.md");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllText(file, text.ToString());
    }
}
