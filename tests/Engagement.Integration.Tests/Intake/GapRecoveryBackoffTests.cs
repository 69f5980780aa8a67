using System.Net;
using System.Text.Json;
using Engagement.Integration.Tests.Infrastructure;

namespace Engagement.Integration.Tests.Intake;

/// <summary>
/// A declared gap the EHR cannot return (its <c>$events</c> answer leaves the number out: expired, or never there) is
/// asked for again after a wait that doubles (<c>Engagement__Intake__GapRecoveryBackoff</c>, here 1 s), not at every
/// sweep; the subscription's state shows the tries and when the next one is due. Once the EHR has the event again, the
/// next try recovers it and the count starts again.
/// </summary>
public sealed class GapRecoveryBackoffTests
{
    [Fact]
    public async Task A_gap_the_ehr_cannot_return_is_asked_for_again_after_doubling_waits_and_recovered_once_it_can()
    {
        await using var fhir = new FakeFhirServer();
        fhir.LostEvents[2] = true;
        var settings = IntakeFixture.Settings(IntakeFixture.NewPrefix(), fhir.BaseUrl); // grace 2 s, sweeps every second
        settings["Engagement__Intake__GapRecoveryBackoff"] = "00:00:01";
        settings["Engagement__Intake__GapRecoveryMaxBackoff"] = "00:01:00";
        await using var host = new StandaloneHost(settings);
        await host.StartAsync();
        var sub = Notifications.NewSubscription();
        foreach (var n in new long[] { 1, 3 })
        {
            using var response = await IntakeFixture.SendAsync(host, HttpMethod.Post, "/api/notifications/ehr1", Notifications.Build("notification-full-resource.json", sub, n, n));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await Poll.UntilAsync(() => IntakeFixture.SubscriptionAsync(host, "ehr1", sub), s => s.ValueKind == JsonValueKind.Object && s.GetProperty("lastEventNumber").GetInt64() == n,
                TimeSpan.FromSeconds(30), $"event {n} processed");
        }

        // Declared after the grace period and fetched at once; then again 1, 2 and 4 s after each try (or a little later:
        // a sweep comes every second), each try recorded with when the next one is due.
        var nextAt = new Dictionary<long, DateTimeOffset>();
        await Poll.UntilAsync(
            async () =>
            {
                var state = await IntakeFixture.SubscriptionAsync(host, "ehr1", sub);
                var attempts = state.GetProperty("recoveryAttempts").GetInt64();
                if (attempts > 0)
                {
                    nextAt.TryAdd(attempts, state.GetProperty("nextRecoveryAt").GetDateTimeOffset());
                }

                return attempts;
            },
            attempts => attempts >= 4,
            TimeSpan.FromSeconds(60),
            "four tries to fetch the gap");
        var requests = fhir.Requests.Count(r => r.Contains("$events", StringComparison.Ordinal));
        var state = await IntakeFixture.SubscriptionAsync(host, "ehr1", sub);
        Assert.Equal([2L], state.GetProperty("missing").EnumerateArray().Select(m => m.GetInt64()));
        Assert.Equal(1, state.GetProperty("gapsFound").GetInt64());
        Assert.Equal(0, state.GetProperty("gapsRecovered").GetInt64());
        var attempts = state.GetProperty("recoveryAttempts").GetInt64();
        Assert.InRange((long)requests, attempts, attempts + 1); // one $events per try (a try under way may not be recorded yet)

        // Try k waits 2^(k-1) s, and starts no sooner than the wait before it is over: the due times the state showed
        // (polled four times a second, so each try's was seen) are at least 2, 4 and 8 s apart.
        for (var k = 1L; k <= 3; k++)
        {
            Assert.True(nextAt.ContainsKey(k) && nextAt.ContainsKey(k + 1), $"due times seen for tries {string.Join(',', nextAt.Keys)}");
            Assert.True(nextAt[k + 1] - nextAt[k] >= TimeSpan.FromSeconds(Math.Pow(2, k)) - TimeSpan.FromMilliseconds(5),
                $"try {k + 1} due {(nextAt[k + 1] - nextAt[k]).TotalSeconds} s after try {k}'s");
        }

        // The EHR has the event again: the next try recovers it, and the count starts again.
        fhir.LostEvents.TryRemove(2, out _);
        var recovered = await Poll.UntilAsync(() => IntakeFixture.SubscriptionAsync(host, "ehr1", sub), s => s.GetProperty("missing").GetArrayLength() == 0,
            TimeSpan.FromSeconds(60), "the gap recovered");
        Assert.Equal(1, recovered.GetProperty("gapsRecovered").GetInt64());
        Assert.Equal(0, recovered.GetProperty("recoveryAttempts").GetInt64());
        Assert.Equal(JsonValueKind.Null, recovered.GetProperty("nextRecoveryAt").ValueKind);
    }
}
