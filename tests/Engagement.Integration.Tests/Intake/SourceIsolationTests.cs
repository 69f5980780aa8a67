using System.Net;
using Azure.Data.Tables;
using Engagement.Integration.Tests.Infrastructure;

namespace Engagement.Integration.Tests.Intake;

/// <summary>
/// Each EHR's FHIR server has a circuit breaker of its own: one hospital's server failing every request opens the
/// breaker for that server only, and another hospital's fetches go on at once.
/// </summary>
public sealed class SourceIsolationTests
{
    private const string OtherSecret = "ehr2-inbound-secret";

    [Fact]
    public async Task One_EHR_failing_every_request_does_not_open_the_circuit_for_another_EHR()
    {
        await using var down = new FakeFhirServer { Down = true };
        await using var up = new FakeFhirServer();
        var prefix = IntakeFixture.NewPrefix();
        var settings = IntakeFixture.Settings(prefix, down.BaseUrl);
        settings["Engagement__Sources__ehr2__InboundSecret"] = OtherSecret;
        settings["Engagement__Sources__ehr2__FhirBaseUrl"] = up.BaseUrl.ToString();
        await using var host = new StandaloneHost(settings);
        await host.StartAsync();

        // ehr1's server answers 500 to everything: the fetches of its id-only notifications fail, are retried, and trip
        // the breaker (at least 100 requests in its 30 s window, most of them failed).
        for (var i = 0; i < 40; i++)
        {
            using var put = await IntakeFixture.SendAsync(host, HttpMethod.Put, $"/api/notifications/ehr1/Encounter/enc-down-{i}", null);
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        int Fetches() => down.Requests.Count(r => r.StartsWith("/fhir/", StringComparison.Ordinal));
        await Poll.UntilAsync(() => Task.FromResult(Fetches()), c => c >= 100, TimeSpan.FromSeconds(60), "100 failed fetches from ehr1's server");
        // Open: requests stop reaching ehr1's server (the intake keeps retrying its rows, and they fail before sending).
        await Poll.UntilAsync(
            async () =>
            {
                var before = Fetches();
                await Task.Delay(TimeSpan.FromSeconds(1));
                return Fetches() == before;
            },
            quiet => quiet, TimeSpan.FromSeconds(60), "ehr1's breaker to open");

        // ehr2's notification is fetched from its own server at the first try.
        using (var put = await IntakeFixture.SendAsync(host, HttpMethod.Put, "/api/notifications/ehr2/Encounter/enc-up-1", null, OtherSecret))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        var events = IntakeFixture.Table(prefix, "Events");
        await Poll.UntilAsync(
            async () => await events.QueryAsync<TableEntity>(e => e.PartitionKey == "ehr2").ToListAsync(),
            rows => rows.Any(r => r.GetString("ResourceId") == "enc-up-1" && r.GetBoolean("Routed") == true),
            TimeSpan.FromSeconds(30), "ehr2's event fetched and routed");
        Assert.DoesNotContain(host.Output, line => line.Contains("from ehr2 failed", StringComparison.Ordinal));
        Assert.Single(up.Requests, r => r.StartsWith("/fhir/Encounter/enc-up-1", StringComparison.Ordinal));
    }
}
