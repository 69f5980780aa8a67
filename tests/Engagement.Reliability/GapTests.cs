using System.Net;
using System.Text.Json;
using Azure.Data.Tables;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Integration.Tests.Intake;

namespace Engagement.Reliability;

/// <summary>5% of event numbers are lost on the way in: every gap is found and recovered through <c>$events</c>.</summary>
public sealed class GapTests
{
    [Fact]
    public async Task Dropping_five_percent_of_events_every_gap_is_detected_and_recovered_through_events()
    {
        var count = ReliabilityRun.Size(100, 1000);
        await using var fhir = new FakeFhirServer();
        var prefix = IntakeFixture.NewPrefix();
        var settings = IntakeFixture.Settings(prefix, fhir.BaseUrl);
        // Longer than the intake backlog takes to drain on a loaded 2-core machine (100 notifications posted at once),
        // so an event merely waiting in the queue is not declared a gap; the product default is 30 s.
        settings["Engagement__Intake__GapGracePeriod"] = "00:00:15";
        await using var host = new StandaloneHost(settings);
        await host.StartAsync();
        var sub = Notifications.NewSubscription();

        // Event 1 and the last one always arrive (a gap is only visible between two received numbers).
        var random = new Random(8);
        var dropped = Enumerable.Range(2, count - 2).OrderBy(_ => random.Next()).Take(count / 20).ToHashSet();
        var sent = 0;
        for (var n = 1; n <= count; n++)
        {
            if (dropped.Contains(n))
            {
                continue;
            }

            using var response = await IntakeFixture.SendAsync(host, HttpMethod.Post, "/api/notifications/ehr1", Notifications.Build("notification-full-resource.json", sub, n, n));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            sent++;
        }

        var events = IntakeFixture.Table(prefix, "Events");
        List<TableEntity> rows;
        try
        {
            rows = await Poll.UntilAsync(
                async () => (await events.QueryAsync<TableEntity>(e => e.PartitionKey == "ehr1").ToListAsync()).Where(r => (r.GetString("Subscription") ?? "").EndsWith(sub, StringComparison.Ordinal)).ToList(),
                r => r.Count == count, TimeSpan.FromMinutes(ReliabilityRun.IsLong ? 20 : 5), "every event, received or recovered");
        }
        catch (TimeoutException ex)
        {
            var now = await SubscriptionAsync(host, sub);
            ReliabilityRun.KeepLog("gaps-host", host.Output.ToArray());
            throw new TimeoutException($"{ex.Message}\nsubscription: {now}\nhost warnings:\n{string.Join('\n', ReliabilityRun.Warnings(host.Output.ToList(), 20))}", ex);
        }
        var state = await Poll.UntilAsync(() => SubscriptionAsync(host, sub), s => s.ValueKind == JsonValueKind.Object && s.GetProperty("gapsFound").GetInt64() >= dropped.Count && s.GetProperty("gapsRecovered").GetInt64() == s.GetProperty("gapsFound").GetInt64(), TimeSpan.FromMinutes(2), "the gaps recorded as recovered");
        var recoveredIds = rows.Where(r => dropped.Contains((int)r.GetInt64("EventNumber")!.Value)).Select(r => r.GetString("ResourceId")).ToList();
        var eventsCalls = fhir.Requests.Count(r => r.Contains($"{sub}/$events", StringComparison.Ordinal));

        ReliabilityRun.Record("Gaps (5% of event numbers dropped)", [
            ("events in the subscription", count),
            ("delivered", sent),
            ("dropped", dropped.Count),
            ("events journaled (received + recovered)", rows.Count),
            ("gapsFound / gapsRecovered / lateArrivals in GET /api/subscriptions", $"{state.GetProperty("gapsFound").GetInt64()} / {state.GetProperty("gapsRecovered").GetInt64()} / {state.GetProperty("lateArrivals").GetInt64()}"),
            ("still missing", state.GetProperty("missing").GetArrayLength()),
            ("$events calls to the in-test FHIR server", eventsCalls),
        ]);

        Assert.Equal(Enumerable.Range(1, count).Select(n => (long)n), rows.Select(r => r.GetInt64("EventNumber")!.Value).Order());
        // Notifications are processed from the queue concurrently, so a number is often only out of order: it counts
        // as a late arrival when it comes within the grace period (15 s here). Only a number still missing after it is
        // a gap and fetched through $events — every dropped one, plus any in-flight event slower than the grace period
        // on a loaded machine. Every gap found is recovered.
        Assert.InRange(state.GetProperty("gapsFound").GetInt64(), dropped.Count, count);
        Assert.Equal(state.GetProperty("gapsFound").GetInt64(), state.GetProperty("gapsRecovered").GetInt64());
        Assert.Empty(state.GetProperty("missing").EnumerateArray());
        Assert.All(recoveredIds, id => Assert.StartsWith("enc-ev", id, StringComparison.Ordinal)); // they came from $events
        Assert.True(eventsCalls >= 1);
    }

    private static async Task<JsonElement> SubscriptionAsync(StandaloneHost host, string sub)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Get, "/api/subscriptions/ehr1");
        using var response = await host.Client.SendAsync(request);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("subscriptions").EnumerateArray()
            .Where(s => s.GetProperty("subscription").GetString()!.EndsWith(sub, StringComparison.Ordinal))
            .Select(s => s.Clone()).FirstOrDefault();
    }
}
