using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Engagement.Integration.Tests.Infrastructure;

namespace Engagement.Reliability;

/// <summary>
/// Soak: a steady open-loop stream of R4 topic-based notifications (a hospital's mix: Encounter and Patient updates
/// that start nothing, and one inpatient discharge in <c>dischargeEvery</c>, each starting the post-discharge
/// follow-up on a shrunk protocol clock) while patients answer the links the outreach queue carries. Every few
/// seconds it samples the host's RSS, the accept latency (from each request's scheduled start: no coordinated
/// omission), the answers and the backlog (intake queue, unprocessed inbox rows, pending outbox rows, durable work
/// items). After the load it drains, then checks that nothing acknowledged was lost and the host is healthy.
/// Figures go to the results file, the samples to a CSV and a PNG plot. Assertions are counts (and, for runs of
/// 10 minutes or more, a generous RSS-growth bound); latency is recorded, never asserted.
/// <para>
/// Duration: 75 s in <c>./test</c>, 30 minutes with <c>ENGAGEMENT_RELIABILITY=long</c>. Overrides:
/// <c>ENGAGEMENT_SOAK_SECONDS</c>, <c>ENGAGEMENT_SOAK_RATE</c> (notifications/s, default 50),
/// <c>ENGAGEMENT_SOAK_DISCHARGE_EVERY</c> (default 20: one notification in 20 is a discharge),
/// <c>ENGAGEMENT_SOAK_SECONDS_PER_DAY</c> (protocol clock, default 2), <c>ENGAGEMENT_SOAK_PNG</c> (where the plot goes),
/// <c>ENGAGEMENT_SOAK_RSS_GROWTH_MB</c> (the asserted bound).
/// </para>
/// </summary>
public sealed class SoakTests
{
    private const string EncounterTopic = "http://hl7.org/SubscriptionTopic/encounter-update";
    private const string PatientTopic = "http://hl7.org/SubscriptionTopic/patient-update";
    private const int Ward = 200;

    private static double Setting(string name, double fallback) =>
        double.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : fallback;

    [Fact]
    public async Task Steady_notifications_with_responses_flowing_lose_nothing_leave_no_backlog_and_keep_the_host_healthy()
    {
        // The load client must not be what stalls. Its thread pool starts at one thread per core, and the test platform
        // keeps two of them blocked (its message loop polls a socket, the xUnit runner waits); under load the pool then
        // ran out and added threads only every half second or so, and requests went out up to a second late — 0.5–1 s
        // "accept latency" every 10–20 s that the host never saw (2026-12-07: the client's own lag was the whole of it).
        ThreadPool.GetMinThreads(out var minWorkers, out var minIo);
        ThreadPool.SetMinThreads(Math.Max(minWorkers, 64), Math.Max(minIo, 64));
        var seconds = Setting("ENGAGEMENT_SOAK_SECONDS", ReliabilityRun.IsLong ? 1800 : 75);
        var rate = Setting("ENGAGEMENT_SOAK_RATE", 50);
        var dischargeEvery = (int)Setting("ENGAGEMENT_SOAK_DISCHARGE_EVERY", 20);
        var secondsPerDay = Setting("ENGAGEMENT_SOAK_SECONDS_PER_DAY", 2);
        var rssBoundMb = Setting("ENGAGEMENT_SOAK_RSS_GROWTH_MB", 256);
        var sampleEvery = TimeSpan.FromSeconds(seconds >= 600 ? 10 : 5);
        var window = Math.Min(300, seconds / 4); // "first / last 5 minutes" (a quarter of a shorter run)
        var drainTimeout = TimeSpan.FromMinutes(seconds >= 600 ? 30 : 10);
        var variant = ReliabilityRun.IsLong ? "long" : "short";
        var png = Environment.GetEnvironmentVariable("ENGAGEMENT_SOAK_PNG")
            ?? (ReliabilityRun.IsLong ? Path.Combine(TestEnvironment.RepoRoot, "docs", "reliability-soak.png") : Path.Combine(TestEnvironment.RepoRoot, "artifacts", "reliability", "soak-short.png"));
        var csv = Path.Combine(TestEnvironment.RepoRoot, "artifacts", "reliability", $"soak-{variant}.csv");

        // Its own Azurite, in memory: with disk persistence Azurite rewrites its whole database as it grows and stalls every
        // request alike (docs/performance.md), which a 30-minute run would measure instead of the host.
        await using var azurite = new PrivateAzurite(inMemory: true);
        await azurite.StartAsync();
        var azuritePid = azurite.ProcessId!.Value;

        // The durable task hub on a storage account of its own (Engagement__Durable__StorageConnectionName), as a
        // high-throughput deployment puts it: one Azurite is one single-threaded process, and at 50 notifications/s the
        // app's rows and the task hub's polling, history and queues together kept it at 100 % of a core.
        await using var taskHubAzurite = new PrivateAzurite(inMemory: true);
        await taskHubAzurite.StartAsync();

        // Intake on a storage account of its own too (Engagement__Intake__StorageConnectionName), the bulkhead that keeps
        // the EHR's acknowledgement out of the queue of the app's account; ENGAGEMENT_SOAK_INTAKE_ACCOUNT=shared runs it on
        // the app's Azurite instead, as the default configuration does.
        var ownIntake = !string.Equals(Environment.GetEnvironmentVariable("ENGAGEMENT_SOAK_INTAKE_ACCOUNT"), "shared", StringComparison.OrdinalIgnoreCase);
        await using var intakeAzurite = ownIntake ? new PrivateAzurite(inMemory: true) : null;
        if (intakeAzurite is not null)
        {
            await intakeAzurite.StartAsync();
        }

        // The product's own sweeper timing (the harness shortens it for the crash scenarios; under a backlog that would
        // re-drive rows the queue listener is about to process).
        await using var h = new ReliabilityHarness(azurite.ConnectionString, secondsPerDay, s =>
        {
            s["Engagement__Intake__SweepInterval"] = Environment.GetEnvironmentVariable("ENGAGEMENT_SOAK_SWEEP_INTERVAL") ?? "00:00:10";
            s["Engagement__Intake__RedriveAfter"] = "00:00:30";
            // Durable history retention on the protocol clock: the product's 30 days are 30 protocol days here, so the
            // task hub holds what a hospital's would (running runs and a retention's worth of ended ones), not every run.
            s["Engagement__FollowUp__DurableRetention"] = TimeSpan.FromSeconds(30 * secondsPerDay).ToString("c", CultureInfo.InvariantCulture);
            s["Engagement__FollowUp__DurablePurgeInterval"] = Environment.GetEnvironmentVariable("ENGAGEMENT_SOAK_PURGE_INTERVAL") ?? "00:00:15";
            s["Engagement__Durable__StorageConnectionName"] = "TaskHubStorage";
            s["TaskHubStorage"] = taskHubAzurite.ConnectionString;
            if (intakeAzurite is not null)
            {
                s["Engagement__Intake__StorageConnectionName"] = "IntakeStorage";
                s["IntakeStorage"] = intakeAzurite.ConnectionString;
            }
        });
        await h.Host.StartAsync();
        var pid = h.Host.ProcessId!.Value;
        var run = ReliabilityHarness.NewRun();
        var wardPatients = Enumerable.Range(0, Ward).Select(i => $"ward-{run}-{i}").ToArray();
        var encounterSubscription = "sub-soak-enc-" + run;
        var patientSubscription = "sub-soak-pat-" + run;
        var storage = new Backlog(h);

        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = h.Host.BaseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };

        // --- the EHR: an open loop at a fixed rate ----------------------------------------------------------------------
        long encounterEvents = 0, patientEvents = 0, dischargeCount = 0, inflight = 0;
        var gate = new Lock();
        var interval = new List<double>();
        // The load client's own lag: from a request's scheduled start to the moment it is begun. Latency is measured from
        // the scheduled start (an open loop), so a stall of this process counts in it; the lag tells the two apart.
        var intervalLag = new List<double>();
        var allLag = new List<(double At, double Ms)>();
        var intervalNotOk = 0;
        var all = new List<(double At, double Ms)>();
        var answers = new ConcurrentDictionary<string, int>();
        var discharged = new ConcurrentDictionary<string, bool>(); // patient → acknowledged (2xx) on first delivery
        var refused = new ConcurrentQueue<(string Body, string? Patient)>();

        (string Body, string? Patient) Next(long i)
        {
            if (i % dischargeEvery == dischargeEvery / 2)
            {
                var patient = $"sk-{run}-{Interlocked.Increment(ref dischargeCount)}";
                var n = Interlocked.Increment(ref encounterEvents);
                return (ReliabilityHarness.TopicNotification(encounterSubscription, EncounterTopic, n,
                    ReliabilityHarness.Encounter($"enc-{patient}", patient, "finished", "2"), Demographics.For(patient).Patient(patient)), patient);
            }

            var ward = wardPatients[i % Ward];
            if (i % 2 == 0)
            {
                var n = Interlocked.Increment(ref encounterEvents);
                return (ReliabilityHarness.TopicNotification(encounterSubscription, EncounterTopic, n,
                    ReliabilityHarness.Encounter($"enc-{ward}", ward, "in-progress", n.ToString(CultureInfo.InvariantCulture)), Demographics.For(ward).Patient(ward)), null);
            }

            var p = Interlocked.Increment(ref patientEvents);
            var resource = Demographics.For(ward).Patient(ward);
            resource["meta"]!["versionId"] = p.ToString(CultureInfo.InvariantCulture);
            return (ReliabilityHarness.TopicNotification(patientSubscription, PatientTopic, p, resource), null);
        }

        async Task<HttpStatusCode?> PostAsync(string body)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/notifications/" + ReliabilityHarness.Source, UriKind.Relative))
            {
                Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)),
            };
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/fhir+json");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ReliabilityHarness.Secret);
            try
            {
                using var response = await client.SendAsync(request);
                return response.StatusCode;
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                return null;
            }
        }

        var loadStart = Stopwatch.GetTimestamp();
        double Now() => Stopwatch.GetElapsedTime(loadStart).TotalSeconds;

        async Task SendAsync(long i, long scheduled)
        {
            try
            {
                var lag = Stopwatch.GetElapsedTime(scheduled).TotalMilliseconds;
                lock (gate)
                {
                    intervalLag.Add(lag);
                    allLag.Add((Stopwatch.GetElapsedTime(loadStart, scheduled).TotalSeconds, lag));
                }

                var (body, patient) = Next(i);
                var status = await PostAsync(body);
                var ms = Stopwatch.GetElapsedTime(scheduled).TotalMilliseconds;
                var ok = status is { } s && (int)s is >= 200 and < 300;
                answers.AddOrUpdate(status is { } st ? ((int)st).ToString(CultureInfo.InvariantCulture) : "no answer", 1, (_, c) => c + 1);
                lock (gate)
                {
                    interval.Add(ms);
                    intervalNotOk += ok ? 0 : 1;
                    all.Add((Stopwatch.GetElapsedTime(loadStart, scheduled).TotalSeconds, ms));
                }

                if (patient is not null)
                {
                    discharged[patient] = ok;
                }

                if (!ok)
                {
                    refused.Enqueue((body, patient));
                }
            }
            finally
            {
                Interlocked.Decrement(ref inflight);
            }
        }

        var total = (long)(seconds * rate);
        var sender = Task.Run(async () =>
        {
            for (long i = 0; i < total; i++)
            {
                var scheduled = loadStart + (long)(i * (double)Stopwatch.Frequency / rate);
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), scheduled);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait);
                }

                Interlocked.Increment(ref inflight);
                var index = i;
                _ = Task.Run(() => SendAsync(index, scheduled));
            }
        });

        // --- the patients: the gateway takes messages off the outreach queue; two in three links get answered -------------
        var stopPatients = new CancellationTokenSource();
        var messages = new ConcurrentDictionary<string, int>();
        var responseAnswers = new ConcurrentDictionary<string, int>();
        var created = new ConcurrentDictionary<string, int>(); // patient → responses answered 201
        var tokens = new ConcurrentDictionary<string, bool>();
        var responders = new SemaphoreSlim(8);
        var responseTasks = new ConcurrentBag<Task>();
        var responses201 = 0;

        async Task AnswerAsync(string token, string patient)
        {
            try
            {
                using var context = await client.GetAsync(new Uri($"/api/engage/{token}", UriKind.Relative));
                var text = await context.Content.ReadAsStringAsync();
                string key;
                if (context.StatusCode != HttpStatusCode.OK)
                {
                    key = "page " + ((int)context.StatusCode).ToString(CultureInfo.InvariantCulture);
                }
                else
                {
                    var checkin = text.Contains("Questionnaire/post-discharge-checkin", StringComparison.Ordinal);
                    var body = checkin ? CheckinResponse() : ReliabilityHarness.Phq9Response(Random.Shared.Next(4));
                    var (status, _) = await h.SubmitResponseAsync(token, body);
                    key = (checkin ? "check-in " : "PHQ-9 ") + (status is { } s ? ((int)s).ToString(CultureInfo.InvariantCulture) : "no answer");
                    if (status == HttpStatusCode.Created)
                    {
                        created.AddOrUpdate(patient, 1, (_, c) => c + 1);
                        Interlocked.Increment(ref responses201);
                    }
                }

                responseAnswers.AddOrUpdate(key, 1, (_, c) => c + 1);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                responseAnswers.AddOrUpdate("no answer", 1, (_, c) => c + 1);
            }
            finally
            {
                responders.Release();
            }
        }

        var patientsLoop = Task.Run(async () =>
        {
            var queue = new QueueClient(h.Storage, h.QueueName, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
            await queue.CreateIfNotExistsAsync();
            while (!stopPatients.IsCancellationRequested)
            {
                var batch = (await queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(5))).Value;
                foreach (var message in batch)
                {
                    var envelope = JsonNode.Parse(message.Body.ToString())!;
                    var channel = (string?)envelope["channel"];
                    messages.AddOrUpdate(channel == "clinician" ? "care team" : (string?)envelope["template"] ?? "?", 1, (_, c) => c + 1);
                    await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
                    var link = (string?)envelope["link"];
                    if (link is null || channel == "clinician")
                    {
                        continue;
                    }

                    var token = link[(link.LastIndexOf('/') + 1)..];
                    if (tokens.TryAdd(token, true) && Random.Shared.Next(3) != 0)
                    {
                        await responders.WaitAsync();
                        responseTasks.Add(AnswerAsync(token, (string)envelope["patientId"]!));
                    }
                }

                if (batch.Length == 0)
                {
                    try
                    {
                        await Task.Delay(1000, stopPatients.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            }
        });

        // Events the host has processed, from its subscription state: last event number minus those still missing.
        async Task<long> ProcessedEventsAsync()
        {
            try
            {
                using var request = StandaloneHost.AdminRequest(HttpMethod.Get, "/api/subscriptions/" + ReliabilityHarness.Source);
                using var response = await h.Host.Client.SendAsync(request);
                if (JsonNode.Parse(await response.Content.ReadAsStringAsync()) is not JsonObject { } body || body["subscriptions"] is not JsonArray list)
                {
                    return 0;
                }

                return list.Sum(sub => (sub?["lastEventNumber"]?.GetValue<long>() ?? 0)
                    - ((sub?["missing"] as JsonArray)?.Count ?? sub?["missingCount"]?.GetValue<int>() ?? 0));
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or InvalidOperationException)
            {
                return 0;
            }
        }

        // --- the sampler ------------------------------------------------------------------------------------------------
        // Each sample is appended to the CSV as it is taken, so a long run that is stopped still leaves its figures.
        await File.WriteAllLinesAsync(EnsureDirectory(csv), [SoakSample.CsvHeader]);
        var samples = new List<SoakSample>();
        var stopSampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            var k = 0;
            long? inbox = null, outbox = null;
            var pauseBefore = GC.GetTotalPauseDuration();
            var gen2Before = GC.CollectionCount(2);
            while (!stopSampling.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(sampleEvery, stopSampling.Token);
                }
                catch (OperationCanceledException)
                {
                }

                double[] latencies, lags;
                int notOk;
                lock (gate)
                {
                    latencies = [.. interval];
                    lags = [.. intervalLag];
                    intervalLag.Clear();
                    notOk = intervalNotOk;
                    interval.Clear();
                    intervalNotOk = 0;
                }

                // No table scans while the load runs: Azurite evaluates a filter over every row of the table in its one
                // thread, and a scan of a table this run keeps growing stalled every request for 10–30 s (the first
                // 30-minute attempts, docs/reliability.md). Unprocessed inbox rows are the acknowledged notifications
                // minus the events the subscriptions have processed (one point read); pending outbox rows are counted
                // only after the load, with the drain.
                inbox = Math.Max(0, answers.Where(a => a.Key.StartsWith('2')).Sum(a => (long)a.Value) - await ProcessedEventsAsync());
                outbox = null;
                k++;

                var (workItems, control) = await storage.DurableQueuesAsync();
                var intake = await storage.IntakeQueueAsync();
                Array.Sort(latencies);
                Array.Sort(lags);
                // The load client's own health (this process): GC pause time and gen-2 collections in the interval, the
                // thread pool's threads and queued work items now.
                var pause = GC.GetTotalPauseDuration();
                var gen2 = GC.CollectionCount(2);
                var client = new ClientHealth((pause - pauseBefore).TotalMilliseconds, gen2 - gen2Before, ThreadPool.ThreadCount, ThreadPool.PendingWorkItemCount);
                (pauseBefore, gen2Before) = (pause, gen2);
                var sample = new SoakSample(
                    Math.Round(Now(), 1), RssMb(pid), latencies.Length - notOk, notOk,
                    Percentile(latencies, 0.50), Percentile(latencies, 0.99), latencies.Length == 0 ? double.NaN : latencies[^1],
                    intake, inbox, outbox, workItems, control, Volatile.Read(ref responses201), LoadAverage(), RssMb(azuritePid), Percentile(lags, 0.99), client);
                lock (samples)
                {
                    samples.Add(sample);
                }

                await File.AppendAllLinesAsync(csv, [sample.ToCsv()]);
            }
        });

        await sender;
        var sentFor = Now();
        await WaitUntilAsync(() => Interlocked.Read(ref inflight) == 0, TimeSpan.FromSeconds(90));
        var loadEnd = Now();

        // The plot of the load phase now (drawn again with the drain at the end), so a run stopped while draining keeps it.
        var title = string.Create(CultureInfo.InvariantCulture,
            $"Soak {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC: {seconds / 60:0.#} min at {rate:0.#}/s (1 in {dischargeEvery} a discharge), {Environment.ProcessorCount} cores");
        List<SoakSample> loadSamples;
        lock (samples)
        {
            loadSamples = [.. samples];
        }

        await SoakChart.RenderPngAsync(SoakChart.Html(title, loadSamples, loadEnd), png, SoakChart.HeightOf());

        // The EHR retries what was not acknowledged (a 503 means "try again later"), 8 at a time, each up to 20 times.
        var retries = new ConcurrentDictionary<string, int>();
        await Parallel.ForEachAsync(refused, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (retry, ct) =>
        {
            HttpStatusCode? status = null;
            for (var attempt = 0; attempt < 20; attempt++)
            {
                status = await PostAsync(retry.Body);
                if (status is { } ok && (int)ok is >= 200 and < 300)
                {
                    break;
                }

                await Task.Delay(1000, ct);
            }

            retries.AddOrUpdate(status is { } st ? ((int)st).ToString(CultureInfo.InvariantCulture) : "no answer", 1, (_, c) => c + 1);
        });

        // Drain: the backlog goes to zero while the patients go on answering.
        var drainStart = Now();
        var drained = false;
        var drainDeadline = DateTime.UtcNow + drainTimeout;
        while (DateTime.UtcNow < drainDeadline)
        {
            if (await storage.IntakeQueueAsync() == 0 && await storage.InboxPendingAsync() == 0 && await storage.OutboxPendingAsync() == 0
                && (await storage.DurableQueuesAsync()).WorkItems == 0)
            {
                drained = true;
                break;
            }

            await Task.Delay(1000);
        }

        var drainSeconds = Now() - drainStart;
        stopPatients.Cancel();
        await patientsLoop;
        await Task.WhenAll(responseTasks);
        stopSampling.Cancel();
        await sampler;

        // Nothing acknowledged lost: every discharge has exactly one follow-up; every 201'd response is stored.
        var dischargePatients = discharged.Keys.ToList();
        var followUps = await h.FollowUpCountsAsync(dischargePatients);
        var acknowledged = discharged.Where(d => d.Value).Select(d => d.Key).ToList();
        var storedResponses = (await h.ResourcesAsync("QuestionnaireResponse", dischargePatients.ToHashSet())).GroupBy(r => r.PatientId).ToDictionary(g => g.Key, g => g.Count());
        using var health = await client.GetAsync(new Uri("/api/health", UriKind.Relative));
        var hostRunning = h.Host.IsRunning;
        using var subscriptionsRequest = StandaloneHost.AdminRequest(HttpMethod.Get, "/api/subscriptions/" + ReliabilityHarness.Source);
        using var subscriptionsResponse = await h.Host.Client.SendAsync(subscriptionsRequest);
        var subscriptions = string.Join("; ", (JsonNode.Parse(await subscriptionsResponse.Content.ReadAsStringAsync()) is JsonObject o && o["subscriptions"] is JsonArray list ? list : [])
            .Select(sub => $"{((string?)sub?["subscription"])?.Split('/')[^1]}: last event {sub?["lastEventNumber"]}, missing {(sub?["missing"] as JsonArray)?.Count ?? sub?["missingCount"]?.GetValue<int>()}, gapsFound {sub?["gapsFound"]}, gapsRecovered {sub?["gapsRecovered"]}, lateArrivals {sub?["lateArrivals"]}"));

        // What the host warned about (the message line after each "warn:"/"fail:" header, ids and numbers blanked).
        var output = h.Host.Output.ToArray();
        var warnings = ReliabilityRun.Warnings(output, 8);

        // Figures.
        List<SoakSample> during;
        List<SoakSample> snapshot;
        lock (samples)
        {
            snapshot = [.. samples];
        }

        during = [.. snapshot.Where(s => s.Seconds <= loadEnd)];
        var warm = during.Where(s => s.Seconds >= window && s.Seconds < window + 60).Select(s => s.RssMb).DefaultIfEmpty(double.NaN).ToArray();
        var last = during.Where(s => s.Seconds >= loadEnd - 60).Select(s => s.RssMb).DefaultIfEmpty(double.NaN).ToArray();
        var rssWarm = Median(warm);
        var rssLast = Median(last);
        var afterWarmUp = during.Where(s => s.Seconds >= window).ToList();
        var slope = Slope(afterWarmUp.Select(s => (s.Seconds / 60, s.RssMb)).ToList());
        double[] first, final, firstLag, finalLag;
        lock (gate)
        {
            first = [.. all.Where(a => a.At < window).Select(a => a.Ms).Order()];
            final = [.. all.Where(a => a.At >= seconds - window).Select(a => a.Ms).Order()];
            firstLag = [.. allLag.Where(a => a.At < window).Select(a => a.Ms).Order()];
            finalLag = [.. allLag.Where(a => a.At >= seconds - window).Select(a => a.Ms).Order()];
        }

        var load = snapshot.Select(s => s.LoadAverage).ToList();
        var okAnswers = answers.Where(a => a.Key.StartsWith('2')).Sum(a => a.Value);
        var fiveHundreds = answers.Where(a => a.Key.StartsWith('5') && a.Key != "503").Sum(a => a.Value);
        var responseFiveHundreds = responseAnswers.Where(a => a.Key.EndsWith(" 500", StringComparison.Ordinal) || a.Key.Split(' ')[^1].StartsWith('5')).Sum(a => a.Value);
        var storedTotal = storedResponses.Values.Sum();
        var createdTotal = created.Values.Sum();
        var minutes = window / 60;
        string Round(double v) => double.IsNaN(v) ? "n/a" : v.ToString("0.#", CultureInfo.InvariantCulture);
        string Group(IEnumerable<KeyValuePair<string, int>> g) => string.Join(", ", g.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key} × {a.Value}"));

        await File.WriteAllLinesAsync(csv, [SoakSample.CsvHeader, .. snapshot.Select(s => s.ToCsv())]);
        title += string.Create(CultureInfo.InvariantCulture, $", load avg {Round(load.DefaultIfEmpty(double.NaN).Average())}");
        var pngProblem = await SoakChart.RenderPngAsync(SoakChart.Html(title, snapshot, loadEnd), png, SoakChart.HeightOf());

        ReliabilityRun.Record("Soak", [
            ("duration (load) / drain", $"{Round(seconds)} s (sent for {Round(sentFor)} s, last answer at {Round(loadEnd)} s) / {Round(drainSeconds)} s{(drained ? "" : " — NOT DRAINED")}"),
            ("rate (open loop, latency from scheduled start)", $"{Round(rate)} notifications/s; sent {total}"),
            ("mix", $"1 in {dischargeEvery} an inpatient discharge (Encounter finished + Patient: starts the post-discharge follow-up), the rest alternate Encounter in-progress updates (+ Patient) and Patient updates of {Ward} admitted patients (start nothing); protocol clock {Round(secondsPerDay)} s per day"),
            ("answers", Group(answers)),
            ("accepted (2xx) / not", $"{okAnswers} / {total - okAnswers}; 5xx other than 503: {fiveHundreds}"),
            ("EHR retries of the refused ones", retries.IsEmpty ? "none needed" : Group(retries)),
            ("host RSS MB: start / max / end of load / after drain", $"{Round(snapshot.FirstOrDefault()?.RssMb ?? double.NaN)} / {Round(snapshot.Select(s => s.RssMb).DefaultIfEmpty(double.NaN).Max())} / {Round(during.LastOrDefault()?.RssMb ?? double.NaN)} / {Round(RssMb(pid))}"),
            ($"host RSS growth after warm-up (median of the minute after {Round(window)} s → median of the last minute of load)", $"{Round(rssLast - rssWarm)} MB ({Round(rssWarm)} → {Round(rssLast)}); slope after warm-up {Round(slope)} MB/min"),
            ($"accept latency p50 / p99 / max, first {Round(minutes)} min", $"{Round(Percentile(first, 0.5))} / {Round(Percentile(first, 0.99))} / {Round(first.DefaultIfEmpty(double.NaN).Last())} ms"),
            ($"accept latency p50 / p99 / max, last {Round(minutes)} min", $"{Round(Percentile(final, 0.5))} / {Round(Percentile(final, 0.99))} / {Round(final.DefaultIfEmpty(double.NaN).Last())} ms"),
            ($"of that, the load client's own lag before sending (scheduled start → request begun) p99 / max, first / last {Round(minutes)} min",
                $"{Round(Percentile(firstLag, 0.99))} / {Round(firstLag.DefaultIfEmpty(double.NaN).Last())} ms / {Round(Percentile(finalLag, 0.99))} / {Round(finalLag.DefaultIfEmpty(double.NaN).Last())} ms"),
            ("intake's storage account", intakeAzurite is null ? "the app's Azurite (ENGAGEMENT_SOAK_INTAKE_ACCOUNT=shared)" : $"an Azurite of its own, RSS {Round(RssMb(intakeAzurite.ProcessId!.Value))} MB after drain"),
            ("the app's Azurite (in memory, holds every row) RSS MB: start / end of load / after drain", $"{Round(snapshot.FirstOrDefault()?.AzuriteRssMb ?? double.NaN)} / {Round(during.LastOrDefault()?.AzuriteRssMb ?? double.NaN)} / {Round(RssMb(azuritePid))}"),
            ("backlog max during load: intake queue messages (a batch of up to 64 rows each) / inbox pending / outbox pending / durable work items", $"{during.Select(s => s.IntakeQueue).DefaultIfEmpty().Max()} / {during.Select(s => s.InboxPending ?? 0).DefaultIfEmpty().Max()} / {during.Select(s => s.OutboxPending ?? 0).DefaultIfEmpty().Max()} / {during.Select(s => s.DurableWorkItems).DefaultIfEmpty().Max()}"),
            ("backlog at end of load: intake queue messages / inbox pending / outbox pending / durable work items", during.LastOrDefault() is { } e ? $"{e.IntakeQueue} / {e.InboxPending} / {e.OutboxPending} / {e.DurableWorkItems}" : "n/a"),
            ("backlog after drain", drained ? "0 (intake queue, inbox, outbox, durable work items)" : "not drained within " + drainTimeout),
            ("discharges sent / acknowledged on first delivery / with exactly one follow-up", $"{dischargePatients.Count} / {acknowledged.Count} / {followUps.Values.Count(v => v == 1)} (none: {followUps.Values.Count(v => v == 0)}, more than one: {followUps.Values.Count(v => v > 1)})"),
            ("outreach messages taken off the queue", Group(messages)),
            ("links answered (two in three, page opened then response posted)", Group(responseAnswers)),
            ("responses answered 201 / stored", $"{createdTotal} / {storedTotal}"),
            ("subscription state after drain (GET /api/subscriptions)", subscriptions),
            ("host warnings and failures (top 8)", warnings.Count == 0 ? "none" : string.Join(" | ", warnings)),
            ("host running / health after drain", $"{hostRunning} / {(int)health.StatusCode}"),
            ("machine load average (1 min) during the run: min / mean / max", $"{Round(load.DefaultIfEmpty(double.NaN).Min())} / {Round(load.DefaultIfEmpty(double.NaN).Average())} / {Round(load.DefaultIfEmpty(double.NaN).Max())} on {Environment.ProcessorCount} cores"),
            ("samples", $"{snapshot.Count} every {sampleEvery.TotalSeconds:0} s → {Path.GetRelativePath(TestEnvironment.RepoRoot, csv)}"),
            ("plot", pngProblem is null ? Path.GetRelativePath(TestEnvironment.RepoRoot, png) : "not rendered: " + pngProblem),
        ]);

        Assert.True(hostRunning, "the host is still running");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(0, fiveHundreds);
        Assert.Equal(0, responseFiveHundreds);
        Assert.True(drained, $"the backlog drained within {drainTimeout}");
        Assert.All(dischargePatients, p => Assert.Equal(1, followUps[p]));
        Assert.Equal(createdTotal, storedTotal);
        Assert.All(created, c => Assert.Equal(c.Value, storedResponses.GetValueOrDefault(c.Key)));
        if (seconds >= 600)
        {
            Assert.True(rssLast - rssWarm <= rssBoundMb, $"host RSS grew {rssLast - rssWarm:0} MB after warm-up (bound {rssBoundMb} MB)");
        }
    }

    /// <summary>A post-discharge check-in answered "better", no new symptoms, medication taken, pain 2.</summary>
    private static string CheckinResponse() => """
        {"resourceType":"QuestionnaireResponse","status":"completed","item":[
        {"linkId":"feeling","answer":[{"valueCoding":{"system":"http://engagement-functions.org/fhir/CodeSystem/checkin-feeling","code":"better"}}]},
        {"linkId":"new-symptoms","answer":[{"valueBoolean":false}]},
        {"linkId":"medication-taken","answer":[{"valueBoolean":true}]},
        {"linkId":"pain","answer":[{"valueInteger":2}]}]}
        """;

    private static string EnsureDirectory(string file)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        return file;
    }

    private static async Task WaitUntilAsync(Func<bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!done() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static double Median(double[] values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        return Percentile(sorted, 0.5);
    }

    /// <summary>Least-squares slope of y over x.</summary>
    private static double Slope(List<(double X, double Y)> points)
    {
        if (points.Count < 2)
        {
            return double.NaN;
        }

        var mx = points.Average(p => p.X);
        var my = points.Average(p => p.Y);
        var den = points.Sum(p => (p.X - mx) * (p.X - mx));
        return den == 0 ? double.NaN : points.Sum(p => (p.X - mx) * (p.Y - my)) / den;
    }

    /// <summary>Resident set size of a process in MB (<c>VmRSS</c> of /proc/{pid}/status), NaN when it is gone.</summary>
    private static double RssMb(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? double.NaN : Math.Round(long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0, 1);
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    private static double LoadAverage()
    {
        try
        {
            return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return double.NaN;
        }
    }

    /// <summary>What is waiting, read from the host's storage: intake queue, inbox and outbox rows, durable queues.</summary>
    private sealed class Backlog(ReliabilityHarness h)
    {
        private readonly QueueClient intakeQueue = new(h.Storage, h.Prefix.ToLowerInvariant());
        private readonly TableClient inbox = new(h.Host.Settings.GetValueOrDefault("IntakeStorage") ?? h.Storage, h.Prefix + "Inbox");
        private readonly TableClient outbox = new(h.Storage, h.OutboxTable);
        private readonly QueueServiceClient queues = new(h.Host.Settings.GetValueOrDefault("TaskHubStorage") ?? h.Storage);
        private readonly string hub = h.Host.Settings["Engagement__Durable__TaskHubName"]!.ToLowerInvariant();
        private List<QueueClient>? durable;

        public async Task<long> IntakeQueueAsync() => await CountAsync(intakeQueue);

        public Task<long> InboxPendingAsync() => PendingAsync(inbox);

        public Task<long> OutboxPendingAsync() => PendingAsync(outbox);

        /// <summary>Messages on the task hub's work-item queue (activities waiting) and control queues (orchestration messages, future timers included).</summary>
        public async Task<(long WorkItems, long Control)> DurableQueuesAsync()
        {
            if (durable is null)
            {
                var found = new List<QueueClient>();
                await foreach (var q in queues.GetQueuesAsync(prefix: hub))
                {
                    found.Add(queues.GetQueueClient(q.Name));
                }

                if (found.Count == 0)
                {
                    return (0, 0);
                }

                durable = found;
            }

            long workItems = 0, control = 0;
            foreach (var q in durable)
            {
                var n = await CountAsync(q);
                if (q.Name.EndsWith("-workitems", StringComparison.Ordinal))
                {
                    workItems += n;
                }
                else
                {
                    control += n;
                }
            }

            return (workItems, control);
        }

        private static async Task<long> CountAsync(QueueClient queue)
        {
            try
            {
                return (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount;
            }
            catch (Azure.RequestFailedException ex) when (ex.Status == 404)
            {
                return 0;
            }
        }

        private static async Task<long> PendingAsync(TableClient table)
        {
            try
            {
                long n = 0;
                await foreach (var _ in table.QueryAsync<TableEntity>(filter: "Status eq 'Pending'", select: ["RowKey"]))
                {
                    n++;
                }

                return n;
            }
            catch (Azure.RequestFailedException ex) when (ex.Status == 404)
            {
                return 0;
            }
        }
    }
}
