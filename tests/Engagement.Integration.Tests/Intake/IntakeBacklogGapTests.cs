using System.Net;
using System.Text;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Intake;
using Microsoft.Extensions.Options;

namespace Engagement.Integration.Tests.Intake;

/// <summary>
/// A notification we acknowledged and have not processed yet is not a gap. Found by the soak
/// (<c>tests/Engagement.Reliability/SoakTests.cs</c>): with intake behind by more than the gap grace period, event numbers
/// still waiting in our own queue were declared gaps — 3,361 for none lost in 75 s at 50 notifications/s — and each
/// declared gap is fetched from the EHR through <c>$events</c> when the source has a FHIR base URL, exactly when we are
/// already overloaded.
/// </summary>
public sealed class IntakeBacklogGapTests
{
    [Fact]
    public async Task A_missing_number_still_waiting_in_the_inbox_is_not_a_gap_and_counts_as_late_once_processed()
    {
        await using var fhir = new FakeFhirServer();
        var prefix = IntakeFixture.NewPrefix();
        var settings = IntakeFixture.Settings(prefix, fhir.BaseUrl); // grace period 2 s, sweeps every second
        settings["Engagement__Intake__RedriveAfter"] = "01:00:00"; // the backstop leaves the waiting row alone
        var sub = Notifications.NewSubscription();

        await using (var host = new StandaloneHost(settings))
        {
            await host.StartAsync();

            // Event 2 was acknowledged 10 s ago and is still waiting, as behind a long backlog: its inbox row, as the
            // accept path writes it, with no queue message; written after the host's scan at start, which would take it.
            await Poll.UntilAsync(() => Task.FromResult(host.Output.Any(l => l.Contains("Intake start scan found 0", StringComparison.Ordinal))), found => found,
                TimeSpan.FromSeconds(30), "the scan at start");
            var waiting = Encoding.UTF8.GetBytes(Notifications.Build("notification-full-resource.json", sub, 2, 2));
            var notification = NotificationParser.Parse(waiting, 64, out _)!;
            var inbox = new InboxStore(
                new IntakeStorage(TestEnvironment.StorageClients()),
                Options.Create(new IntakeOptions { StoragePrefix = prefix }));
            var key = IntakeKeys.For("notification", "ehr1", notification.DedupeKey(IntakeKeys.ForBytes(waiting)));
            Assert.True(await inbox.AddAsync(
                new InboxItem("ehr1", key, InboxKinds.Notification, DateTimeOffset.UtcNow.AddSeconds(-10), false, null, null, null, SubscriptionNotification.TypeCode(notification.Type), null, null),
                waiting, CancellationToken.None));

            // One at a time: processed in the other order, 1 would be taken for a redelivery and 2 never missed.
            var seen = default(System.Text.Json.JsonElement);
            foreach (var n in new long[] { 1, 3 })
            {
                using var response = await IntakeFixture.SendAsync(host, HttpMethod.Post, "/api/notifications/ehr1", Notifications.Build("notification-full-resource.json", sub, n, n));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                seen = await Poll.UntilAsync(() => IntakeFixture.SubscriptionAsync(host, "ehr1", sub), s => s.ValueKind == System.Text.Json.JsonValueKind.Object && s.GetProperty("lastEventNumber").GetInt64() == n,
                    TimeSpan.FromSeconds(30), $"event {n} processed");
            }

            Assert.Equal([2L], seen.GetProperty("missing").EnumerateArray().Select(m => m.GetInt64()));

            // Well past the grace period (2 s) and several sweeps: 2 is still only waiting in our inbox.
            await Task.Delay(TimeSpan.FromSeconds(8));
            var state = await IntakeFixture.SubscriptionAsync(host, "ehr1", sub);
            Assert.Equal(0, state.GetProperty("gapsFound").GetInt64());
            Assert.Equal([2L], state.GetProperty("missing").EnumerateArray().Select(m => m.GetInt64()));
            Assert.DoesNotContain(fhir.Requests, r => r.Contains("$events", StringComparison.Ordinal));
        }

        // Intake catches up (here: the scan of a restarted host takes the row): 2 arrives late, no gap was ever declared.
        await using var caughtUp = new StandaloneHost(settings);
        await caughtUp.StartAsync();
        var final = await Poll.UntilAsync(() => IntakeFixture.SubscriptionAsync(caughtUp, "ehr1", sub), s => s.GetProperty("missing").GetArrayLength() == 0,
            TimeSpan.FromSeconds(60), "event 2 processed");
        Assert.Equal(0, final.GetProperty("gapsFound").GetInt64());
        Assert.Equal(1, final.GetProperty("lateArrivals").GetInt64());
        Assert.DoesNotContain(fhir.Requests, r => r.Contains("$events", StringComparison.Ordinal));
    }
}
