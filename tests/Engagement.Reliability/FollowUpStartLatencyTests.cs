using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Engagement.Integration.Tests.Infrastructure;

namespace Engagement.Reliability;

/// <summary>
/// Issue 4's measure: from an accepted trigger notification (the 2xx) to the run's first activity having run — the
/// plan step, which writes the run's CarePlan (its <c>meta.lastUpdated</c> is that moment, stamped by the host). One
/// discharge at a time, so the figure is latency, not throughput. Figures go to the results file; the assertions are
/// counts only (every trigger started exactly one run).
/// </summary>
public sealed class FollowUpStartLatencyTests
{
    private static async Task<DateTimeOffset?> CarePlanWrittenAsync(StandaloneHost host, string patientId)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/fhir/CarePlan?patient={patientId}");
        using var response = await host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var entries = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["entry"] as JsonArray;
        return entries is { Count: > 0 } && entries[0]!["resource"]!["meta"]?["lastUpdated"]?.GetValue<string>() is { } stamp
            ? DateTimeOffset.Parse(stamp, CultureInfo.InvariantCulture)
            : null;
    }

    [Fact]
    public async Task Time_from_an_accepted_discharge_to_the_first_activity_of_its_run()
    {
        var count = ReliabilityRun.Size(20, 200);
        await using var h = new ReliabilityHarness(secondsPerDay: 86400);
        await h.Host.StartAsync();
        var run = ReliabilityHarness.NewRun();
        var subscription = "sub-latency-" + run;
        var patients = Enumerable.Range(1, count + 1).Select(i => ReliabilityHarness.PatientId(run, i)).ToList();
        await h.PutPatientsAsync(patients);
        await h.WaitForPatientsStoredAsync(patients);

        // One warm-up discharge (first use of the tables and the task hub), not measured.
        var latencies = new List<double>();
        for (var i = 0; i <= count; i++)
        {
            var body = ReliabilityHarness.Notification(subscription, i + 1, patients[i], $"enc-{run}-{i}");
            var status = await h.PostAsync(body);
            var accepted = DateTimeOffset.UtcNow;
            Assert.Equal(HttpStatusCode.OK, status);
            var written = await Poll.UntilAsync(() => CarePlanWrittenAsync(h.Host, patients[i]), t => t is not null, TimeSpan.FromSeconds(60), "the run's first activity");
            if (i > 0)
            {
                latencies.Add((written!.Value - accepted).TotalMilliseconds);
            }
        }

        var counts = await h.FollowUpCountsAsync(patients);
        Assert.All(patients, p => Assert.Equal(1, counts[p]));
        latencies.Sort();
        double Percentile(double p) => latencies[Math.Clamp((int)Math.Ceiling(p * latencies.Count) - 1, 0, latencies.Count - 1)];
        ReliabilityRun.Record("Accepted discharge → first activity (plan step wrote the CarePlan)", [
            ("discharges measured (sequential, after one warm-up)", latencies.Count),
            ("p50 ms", Math.Round(Percentile(0.50), 1)),
            ("p90 ms", Math.Round(Percentile(0.90), 1)),
            ("max ms", Math.Round(latencies[^1], 1)),
            ("runs started per discharge", 1),
            ("processors", Environment.ProcessorCount),
        ]);
    }
}
