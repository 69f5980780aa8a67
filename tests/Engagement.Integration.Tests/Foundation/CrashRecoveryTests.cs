using Engagement.Integration.Tests.Infrastructure;

namespace Engagement.Integration.Tests.Foundation;

/// <summary>Kill -9 the standalone host while an orchestration waits on a durable timer; start it again.</summary>
public sealed class CrashRecoveryTests
{
    [Fact]
    public async Task Orchestration_waiting_on_a_timer_survives_SIGKILL_and_each_activity_runs_exactly_once()
    {
        await using var host = new StandaloneHost();
        await host.StartAsync();
        var id = await ProbeApi.StartAsync(host, delaySeconds: 8, eventTimeoutSeconds: 0);
        // Kill only once the orchestration is durably waiting on its timer (the custom status is committed with the
        // timer). A kill between an activity running and its completion being committed would legitimately run
        // that activity again: Durable Task activities are at-least-once, which is why product activities are idempotent.
        var waiting = await ProbeApi.WaitAsync(host, id, s => s.CustomStatus == "waiting-for-timer", "the durable timer wait");
        Assert.Equal(1, waiting.StepRuns.GetValueOrDefault(1));

        await host.KillAsync();
        Assert.False(host.IsRunning);
        var whileDown = await ProbeApi.WaitAsync(host, id, _ => true, "state", seconds: 1).ContinueWith(t => t.IsFaulted);
        Assert.True(whileDown, "nobody answers while the host is down");

        await host.StartAsync();
        var done = await ProbeApi.WaitAsync(host, id, s => s.RuntimeStatus == "Completed", "completion after restart", seconds: 90);

        Assert.Equal(new Dictionary<int, int> { [1] = 1, [2] = 1, [3] = 1 }, done.StepRuns);
    }
}
