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
        await ProbeApi.WaitAsync(host, id, s => s.StepRuns.GetValueOrDefault(1) == 1, "the first activity");

        await host.KillAsync();
        Assert.False(host.IsRunning);
        var whileDown = await ProbeApi.WaitAsync(host, id, _ => true, "state", seconds: 1).ContinueWith(t => t.IsFaulted);
        Assert.True(whileDown, "nobody answers while the host is down");

        await host.StartAsync();
        var done = await ProbeApi.WaitAsync(host, id, s => s.RuntimeStatus == "Completed", "completion after restart", seconds: 90);

        Assert.Equal(new Dictionary<int, int> { [1] = 1, [2] = 1, [3] = 1 }, done.StepRuns);
    }
}
