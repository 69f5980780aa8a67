using System.Net;
using Engagement.Integration.Tests.Infrastructure;

namespace Engagement.Integration.Tests.Foundation;

/// <summary>The sample orchestration (activity, durable timer, external event) through the standalone host.</summary>
[Collection(HostCollection.Name)]
public sealed class DurableProbeTests(HostFixture fixture)
{
    private StandaloneHost Host => fixture.Host;

    [Fact]
    public async Task Sample_orchestration_runs_activity_timer_and_external_event_each_step_once()
    {
        var id = await ProbeApi.StartAsync(Host, delaySeconds: 1, eventTimeoutSeconds: 120);
        await ProbeApi.WaitAsync(Host, id, s => s.StepRuns.GetValueOrDefault(2) == 1, "the step after the timer");

        await ProbeApi.ProceedAsync(Host, id, "go");
        var done = await ProbeApi.WaitAsync(Host, id, s => s.RuntimeStatus == "Completed", "completion");

        Assert.Equal(new Dictionary<int, int> { [1] = 1, [2] = 1, [3] = 1 }, done.StepRuns);
        var output = done.Output!.Value;
        Assert.True(output.GetProperty("EventReceived").GetBoolean());
        Assert.Equal("go", output.GetProperty("EventPayload").GetString());
        var started = output.GetProperty("StartedUtc").GetDateTime();
        var timerFired = output.GetProperty("TimerFiredUtc").GetDateTime();
        Assert.True(timerFired > started, "the orchestration resumed after its durable timer");
    }

    [Fact]
    public async Task Sample_orchestration_moves_on_when_the_event_does_not_arrive_in_time()
    {
        var id = await ProbeApi.StartAsync(Host, delaySeconds: 0, eventTimeoutSeconds: 1);

        var done = await ProbeApi.WaitAsync(Host, id, s => s.RuntimeStatus == "Completed", "completion after the event timeout");

        Assert.False(done.Output!.Value.GetProperty("EventReceived").GetBoolean());
        Assert.Equal(new Dictionary<int, int> { [1] = 1, [2] = 1, [3] = 1 }, done.StepRuns);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-key")]
    public async Task Probe_routes_refuse_callers_without_the_admin_key(string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/diagnostics/durable-probe", UriKind.Relative));
        if (key is not null)
        {
            request.Headers.Add("X-Admin-Key", key);
        }

        using var response = await Host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("OperationOutcome", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probe_rejects_out_of_range_input_with_400()
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Post, "/api/diagnostics/durable-probe?delaySeconds=abc");
        using var response = await Host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Unknown_probe_instance_is_404()
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Get, "/api/diagnostics/durable-probe/does-not-exist");
        using var response = await Host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
