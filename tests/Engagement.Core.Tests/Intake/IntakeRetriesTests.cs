using Engagement.Intake;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Engagement.Core.Tests.Intake;

public sealed class IntakeRetriesTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);

    private static (IntakeRetries Retries, FakeTimeProvider Clock) New()
    {
        var clock = new FakeTimeProvider(Now);
        var options = Options.Create(new IntakeOptions { RedriveAfter = TimeSpan.FromSeconds(30), BackstopInterval = TimeSpan.FromMinutes(5) });
        return (new IntakeRetries(options, clock), clock);
    }

    /// <summary>30 s, doubling, capped at the backstop's 5 minutes.</summary>
    private static readonly TimeSpan[] ExpectedWaits = [.. new[] { 30, 60, 120, 240, 300, 300, 300 }.Select(s => TimeSpan.FromSeconds(s))];

    private static IntakeWorkItem Item(string key) => new("ehr1", key);

    [Fact]
    public void A_failed_row_is_due_after_RedriveAfter_and_each_further_failure_doubles_the_wait_up_to_the_backstop_interval()
    {
        var (retries, clock) = New();
        var waits = new List<TimeSpan>();
        for (var i = 0; i < 7; i++)
        {
            Assert.True(retries.Failed(Item("k1")));
            waits.Add(retries.DueAt("ehr1", "k1")!.Value - clock.GetUtcNow());
        }

        Assert.Equal(ExpectedWaits, waits);
        Assert.Equal(1, retries.Count);
    }

    [Fact]
    public void Only_due_rows_are_handed_out_oldest_first_and_they_stay_held_until_done()
    {
        var (retries, clock) = New();
        retries.Failed(Item("failed-first"));
        clock.Advance(TimeSpan.FromSeconds(10));
        retries.Failed(Item("failed-later"));
        Assert.True(retries.Found(Item("found")));
        Assert.Equal(["found"], retries.Due(10).Select(i => i.Key));

        clock.Advance(TimeSpan.FromSeconds(30)); // found due 30 s ago, failed-first 10 s ago, failed-later now
        Assert.Equal(["found", "failed-first", "failed-later"], retries.Due(10).Select(i => i.Key));
        Assert.Equal(["found", "failed-first"], retries.Due(2).Select(i => i.Key));

        retries.Done(Item("found"));
        Assert.False(retries.Contains("ehr1", "found"));
        Assert.True(retries.Contains("ehr1", "failed-first"));
        Assert.Equal(2, retries.Count);
    }

    [Fact]
    public void A_scan_finding_a_row_already_held_leaves_its_wait_alone()
    {
        var (retries, _) = New();
        retries.Failed(Item("k1"));
        retries.Failed(Item("k1"));
        var due = retries.DueAt("ehr1", "k1");
        Assert.True(retries.Found(Item("k1")));
        Assert.Equal(due, retries.DueAt("ehr1", "k1"));
        Assert.Empty(retries.Due(10));
    }

    [Fact]
    public void A_held_item_is_read_again_from_the_inbox_and_taken_as_a_possible_rerun()
    {
        var (retries, _) = New();
        var row = new InboxItem("ehr1", "k1", InboxKinds.Notification, Now, false, null, null, null, null, [1], null);
        retries.Found(new IntakeWorkItem("ehr1", "k1", "00-trace-01", row, FirstDelivery: true));
        var held = Assert.Single(retries.Due(10));
        Assert.Null(held.Row);
        Assert.True(held.MayBeRerun);
        Assert.Equal("00-trace-01", held.TraceParent);
    }

    [Fact]
    public void Beyond_its_capacity_nothing_more_is_held_and_the_caller_is_told()
    {
        var (retries, _) = New();
        for (var i = 0; i < IntakeRetries.Capacity; i++)
        {
            Assert.True(retries.Found(Item("k" + i)));
        }

        Assert.False(retries.Found(Item("one-more")));
        Assert.False(retries.Failed(Item("one-more")));
        Assert.True(retries.Failed(Item("k7"))); // a row held already is still rescheduled
        Assert.Equal(IntakeRetries.Capacity, retries.Count);
    }
}
