using Engagement.Integration.Tests.Infrastructure;
using Engagement.Intake;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Integration.Tests.Intake;

/// <summary>
/// Whether intake is behind at a source, asked before a missing event number is declared a gap. "Not behind" holds for
/// its own cutoff only: a row acknowledged just after it is overdue a moment later, and reusing the old answer then
/// declared a gap for a notification still waiting in our inbox (the soak: five such gaps, none lost).
/// </summary>
public sealed class IntakeBacklogTests
{
    [Fact]
    public async Task A_not_behind_answer_is_not_reused_for_a_later_cutoff_and_a_behind_answer_is_reused_briefly()
    {
        var inbox = new InboxStore(new IntakeStorage(TestEnvironment.StorageClients()), Options.Create(new IntakeOptions { StoragePrefix = IntakeFixture.NewPrefix() }));
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var backlog = new IntakeBacklog(inbox, clock);
        var grace = TimeSpan.FromSeconds(2);

        Assert.False(await backlog.IsBehindAsync("ehr1", clock.GetUtcNow() - grace, CancellationToken.None));

        // Acknowledged a second later, still waiting: two seconds on, it is older than the cutoff.
        clock.Advance(TimeSpan.FromSeconds(1));
        var row = new InboxItem("ehr1", "k1", InboxKinds.Notification, clock.GetUtcNow(), false, null, null, null, null, null, null);
        Assert.True(await inbox.AddAsync(row, "{}"u8.ToArray(), CancellationToken.None));
        clock.Advance(TimeSpan.FromSeconds(2.5));
        Assert.True(await backlog.IsBehindAsync("ehr1", clock.GetUtcNow() - grace, CancellationToken.None));

        // Processed now: the "behind" answer stands for a few seconds (a gap is declared a little later, never wrongly) ...
        await inbox.MarkProcessedAsync(row, clock.GetUtcNow(), CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await backlog.IsBehindAsync("ehr1", clock.GetUtcNow() - grace, CancellationToken.None));

        // ... and then the inbox is asked again.
        clock.Advance(IntakeBacklog.CacheFor);
        Assert.False(await backlog.IsBehindAsync("ehr1", clock.GetUtcNow() - grace, CancellationToken.None));
    }
}
