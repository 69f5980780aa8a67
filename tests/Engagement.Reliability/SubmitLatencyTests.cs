using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Engagement.Integration.Tests.Links;

namespace Engagement.Reliability;

/// <summary>
/// Issue 5's end-to-end measure: a patient submitting a PHQ-9 QuestionnaireResponse through their engagement link
/// (<c>POST /api/engage/{token}/response</c>) on the standalone host over Azurite — link check, SDC validation against
/// the Questionnaire, scoring, red-flag rules, the response, its Provenance and score Observation stored, the Task
/// completed, the link marked used, the run told — timed from the client, request sent to answer read. Two phases on
/// fresh links: one patient at a time (latency), then 8 at a time (latency under concurrency, and throughput). Figures
/// go to the results file; the assertions are counts only (every submission 201, each stored once).
/// </summary>
public sealed class SubmitLatencyTests
{
    [Fact]
    public async Task Time_to_submit_a_response_through_an_engagement_link()
    {
        var perPhase = ReliabilityRun.Size(30, 300);
        await using var h = new ReliabilityHarness(secondsPerDay: 86400, configure: s => s["Engagement__Outbox__DispatchInterval"] = "1.00:00:00");
        await h.Host.StartAsync();
        var run = ReliabilityHarness.NewRun();
        var count = 1 + (2 * perPhase); // one warm-up, not measured
        var patients = Enumerable.Range(1, count).Select(i => $"pat-lat-{run}-{i}").ToList();
        var tasks = Enumerable.Range(1, count).Select(i => $"task-lat-{run}-{i}").ToList();
        var links = new IssuedTestLink[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            await ReliabilityHarness.SeedTaskAsync(patients[i], tasks[i]);
            links[i] = await LinkApi.IssueAsync(h.Host, patients[i], tasks[i]);
        });

        var answers = new ConcurrentDictionary<int, HttpStatusCode?>();
        async Task<double> SubmitAsync(int i)
        {
            var watch = Stopwatch.StartNew();
            var (status, _) = await h.SubmitResponseAsync(links[i].Token, ReliabilityHarness.Phq9Response(i % 4));
            var elapsed = watch.Elapsed.TotalMilliseconds;
            answers[i] = status;
            return elapsed;
        }

        await SubmitAsync(0);

        var sequential = new List<double>();
        for (var i = 1; i <= perPhase; i++)
        {
            sequential.Add(await SubmitAsync(i));
        }

        var concurrent = new ConcurrentBag<double>();
        var next = perPhase;
        var phase = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) <= 2 * perPhase)
            {
                concurrent.Add(await SubmitAsync(i));
            }
        })));
        var concurrentSeconds = phase.Elapsed.TotalSeconds;

        var stored = (await h.ResourcesAsync("QuestionnaireResponse", patients.ToHashSet())).GroupBy(r => r.PatientId).ToDictionary(g => g.Key, g => g.Count());
        static string Figures(IEnumerable<double> values)
        {
            var sorted = values.Order().ToList();
            double P(double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
            return FormattableString.Invariant($"p50 {P(0.50):0.0} ms, p95 {P(0.95):0.0} ms, p99 {P(0.99):0.0} ms, max {sorted[^1]:0.0} ms");
        }

        ReliabilityRun.Record("End-to-end submit (POST /api/engage/{token}/response, PHQ-9)", [
            ("submissions per phase (after one warm-up)", perPhase),
            ("one at a time", Figures(sequential)),
            ("8 at a time", Figures(concurrent)),
            ("8 at a time, throughput", FormattableString.Invariant($"{perPhase / concurrentSeconds:0.0} submissions/s")),
            ("answers", string.Join(", ", answers.Values.GroupBy(s => s?.ToString() ?? "no answer").Select(g => $"{g.Key} {g.Count()}"))),
            ("responses stored / patients with more than one", $"{stored.Values.Sum()} / {stored.Values.Count(v => v > 1)}"),
            ("processors", Environment.ProcessorCount),
        ]);

        Assert.All(answers.Values, s => Assert.Equal(HttpStatusCode.Created, s));
        Assert.Equal(count, answers.Count);
        Assert.All(patients, p => Assert.Equal(1, stored.GetValueOrDefault(p)));
    }
}
