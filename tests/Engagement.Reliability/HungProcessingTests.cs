using System.Net;
using System.Text.Json;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Integration.Tests.Intake;

namespace Engagement.Reliability;

/// <summary>
/// A processing step that never answers must not hold intake. The durable task hub is on a storage account of its own
/// (an Azurite of the test's), which is frozen (SIGSTOP: connections accepted, nothing answered), so a discharge's
/// follow-up start hangs in the durable call, which has no deadline of its own. With one processing slot, a heartbeat
/// accepted after it is still processed while the task hub is frozen: the discharge's processing is given up after
/// <c>Engagement__Intake__ProcessingTimeout</c> and its row stays pending. Once the task hub answers again, the
/// discharge's follow-up is started, once.
/// </summary>
public sealed class HungProcessingTests
{
    [Fact]
    public async Task A_processing_hung_on_a_frozen_task_hub_is_given_up_so_later_notifications_are_processed_and_it_is_retried_once_storage_answers()
    {
        await using var taskHub = new PrivateAzurite(inMemory: true);
        var taskHubConnection = await taskHub.StartAsync();
        await using var h = new ReliabilityHarness(secondsPerDay: 86400, configure: s =>
        {
            s["Engagement__Durable__StorageConnectionName"] = "TaskHubStorage";
            s["TaskHubStorage"] = taskHubConnection;
            s["Engagement__Intake__ProcessingConcurrency"] = "1";
            s["Engagement__Intake__ProcessingTimeout"] = "00:00:05";
        });
        await h.Host.StartAsync();
        var run = ReliabilityHarness.NewRun();
        var subscription = "sub-hung-" + run;
        var first = ReliabilityHarness.PatientId(run, 1);
        var second = ReliabilityHarness.PatientId(run, 2);
        Assert.Equal(HttpStatusCode.OK, await h.PostAsync(ReliabilityHarness.Notification(subscription, 1, first, $"enc-{run}-1")));
        await Poll.UntilAsync(() => h.FollowUpsAsync(first), runs => runs.Count == 1, TimeSpan.FromMinutes(2), "the follow-up of the first discharge");

        await taskHub.FreezeAsync();
        try
        {
            // Accepted (intake's tables are on the app's account), then stuck in the durable start.
            Assert.Equal(HttpStatusCode.OK, await h.PostAsync(ReliabilityHarness.Notification(subscription, 2, second, $"enc-{run}-2")));
            await Task.Delay(TimeSpan.FromSeconds(1));
            Assert.Equal(HttpStatusCode.OK, await h.PostAsync(Notifications.Build("notification-heartbeat.json", subscription, eventsSince: 2)));

            // Processed behind the hung discharge, with the task hub still frozen.
            var state = await Poll.UntilAsync(
                () => IntakeFixture.SubscriptionAsync(h.Host, ReliabilityHarness.Source, subscription),
                s => s.ValueKind == JsonValueKind.Object && s.GetProperty("lastHeartbeat").ValueKind == JsonValueKind.String,
                TimeSpan.FromSeconds(45),
                "the heartbeat processed while the discharge's processing hangs");
            // The heartbeat says there were 2 events; the discharge (2) is not processed yet.
            Assert.Equal([2L], state.GetProperty("missing").EnumerateArray().Select(m => m.GetInt64()));
            Assert.Contains(h.Host.Output, l => l.Contains(nameof(TimeoutException), StringComparison.Ordinal));
        }
        finally
        {
            await taskHub.ThawAsync();
        }

        // Retried once the task hub answers: one follow-up, however many tries were given up.
        await Poll.UntilAsync(() => h.FollowUpsAsync(second), runs => runs.Count == 1, TimeSpan.FromMinutes(3), "the follow-up of the discharge that hung");
        await Poll.UntilAsync(
            () => IntakeFixture.SubscriptionAsync(h.Host, ReliabilityHarness.Source, subscription),
            s => s.GetProperty("missing").GetArrayLength() == 0,
            TimeSpan.FromMinutes(1),
            "the discharge's notification processed");
        Assert.Single(await h.FollowUpsAsync(second));
        Assert.Single(await h.FollowUpsAsync(first));
    }
}
