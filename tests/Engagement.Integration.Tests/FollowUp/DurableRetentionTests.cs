using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Engagement.Integration.Tests.Infrastructure;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.FollowUp;

/// <summary>
/// Ended runs lose their durable history after <c>Engagement:FollowUp:DurableRetention</c> (the task hub would otherwise
/// grow with every run ever started); running ones keep it. The care-team route still answers for a purged run from the
/// engine's own tables, and cancelling it again is refused as already ended.
/// </summary>
public sealed class DurableRetentionTests
{
    private const string Secret = "retention-inbound-secret";

    private static StandaloneHost NewHost()
    {
        var settings = EhrSide.FollowUpHostSettings(Secret);
        settings["Engagement__FollowUp__DurableRetention"] = "00:00:01";
        settings["Engagement__FollowUp__DurablePurgeInterval"] = "00:00:01";
        return new StandaloneHost(settings);
    }

    private static async Task<string?> InstanceOfAsync(StandaloneHost host, string patientId)
    {
        using var list = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/followups?patient={patientId}");
        using var listed = await host.Client.SendAsync(list);
        var runs = (await listed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("followUps");
        return runs.GetArrayLength() == 0 ? null : runs[0].GetProperty("instanceId").GetString();
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> RunAsync(StandaloneHost host, string instanceId)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/followups/{instanceId}");
        using var response = await host.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    private static async Task<HttpStatusCode> CancelAsync(StandaloneHost host, string instanceId)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Post, $"/api/followups/{instanceId}/cancel");
        using var response = await host.Client.SendAsync(request);
        return response.StatusCode;
    }

    private static async Task<string> StartAsync(StandaloneHost host)
    {
        var patientId = FollowUpHarness.NewId("pat");
        await EhrSide.PutAsync(host, "ehr1", Secret, FollowUpHarness.Patient(patientId));
        await EhrSide.PutAsync(host, "ehr1", Secret, FollowUpHarness.InpatientDischarge(FollowUpHarness.NewId("enc"), patientId, DateTimeOffset.UtcNow));
        return (await Poll.UntilAsync(() => InstanceOfAsync(host, patientId), id => id is not null, TimeSpan.FromSeconds(60), "the follow-up to start"))!;
    }

    [Fact]
    public async Task An_ended_runs_durable_history_is_purged_and_the_route_answers_from_our_tables_while_a_running_run_keeps_it()
    {
        await using var host = NewHost();
        await host.StartAsync();
        var ended = await StartAsync(host);
        var running = await StartAsync(host);
        await Poll.UntilAsync(() => RunAsync(host, running), r => r.Body.GetProperty("runtimeStatus").GetString() == "Running", TimeSpan.FromSeconds(30), "the second run to be running");

        Assert.Equal(HttpStatusCode.Accepted, await CancelAsync(host, ended));
        var purged = await Poll.UntilAsync(() => RunAsync(host, ended),
            r => r.Status == HttpStatusCode.OK && r.Body.TryGetProperty("durableHistory", out var h) && h.GetString() == "purged",
            TimeSpan.FromSeconds(60), "the cancelled run's durable history to be purged");
        Assert.NotEqual("running", purged.Body.GetProperty("state").GetString());
        Assert.StartsWith("pat-", purged.Body.GetProperty("patient").GetString(), StringComparison.Ordinal);
        Assert.Contains(purged.Body.GetProperty("history").EnumerateArray(), h => h.GetProperty("kind").GetString() == "planned");
        Assert.Equal(HttpStatusCode.Conflict, await CancelAsync(host, ended));

        // Several purge passes later the running one still has its durable history.
        await Task.Delay(TimeSpan.FromSeconds(4));
        var stillRunning = await RunAsync(host, running);
        Assert.Equal("Running", stillRunning.Body.GetProperty("runtimeStatus").GetString());
        Assert.False(stillRunning.Body.TryGetProperty("durableHistory", out _));

        // An instance id we never started is still unknown.
        Assert.Equal(HttpStatusCode.NotFound, (await RunAsync(host, "no-such-run")).Status);
        Assert.Equal(HttpStatusCode.Accepted, await CancelAsync(host, running));
    }
}
