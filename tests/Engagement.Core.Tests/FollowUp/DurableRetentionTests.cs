using Engagement.FollowUp.Engine;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Core.Tests.FollowUp;

/// <summary>
/// Where the durable client exists only inside a trigger invocation (the Functions app's intake queue trigger), the purge
/// runs when its interval has passed: the first call, then one caller per interval, however many triggers run at once.
/// (The purge itself is tested through the standalone host: Engagement.Integration.Tests DurableRetentionTests.)
/// </summary>
public sealed class DurableRetentionTests
{
    [Fact]
    public async Task One_caller_takes_each_interval_the_first_call_included()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 0, 0, 0, TimeSpan.Zero));
        var retention = new DurableRetention(Options.Create(new DurableRetentionOptions { DurablePurgeInterval = TimeSpan.FromHours(1) }), clock, NullLogger<DurableRetention>.Instance);

        var first = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(retention.TakeTurn)));
        Assert.Equal(1, first.Count(t => t));

        clock.Advance(TimeSpan.FromMinutes(59));
        Assert.False(retention.TakeTurn());

        clock.Advance(TimeSpan.FromMinutes(1));
        var next = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(retention.TakeTurn)));
        Assert.Equal(1, next.Count(t => t));
        Assert.False(retention.TakeTurn());
    }
}
