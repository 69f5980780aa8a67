using System.Text;
using Engagement.Intake;

namespace Engagement.Core.Tests.Intake;

public sealed class SubscriptionStateTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);

    private static SubscriptionNotification Notification(string type, long? since, params long[] numbers)
    {
        var events = string.Concat(numbers.Select(n => $",{{\"name\":\"notification-event\",\"part\":[{{\"name\":\"event-number\",\"valueString\":\"{n}\"}}]}}"));
        var sinceJson = since is null ? "" : $",{{\"name\":\"events-since-subscription-start\",\"valueString\":\"{since}\"}}";
        var json = $"{{\"resourceType\":\"Bundle\",\"type\":\"history\",\"entry\":[{{\"resource\":{{\"resourceType\":\"Parameters\",\"parameter\":[{{\"name\":\"subscription\",\"valueReference\":{{\"reference\":\"Subscription/s1\"}}}},{{\"name\":\"status\",\"valueCode\":\"active\"}},{{\"name\":\"type\",\"valueCode\":\"{type}\"}}{sinceJson}{events}]}}}}]}}";
        var parsed = NotificationParser.Parse(Encoding.UTF8.GetBytes(json), 64, out var problem);
        Assert.Null(problem);
        return parsed!;
    }

    [Fact]
    public void Consecutive_events_leave_no_gap()
    {
        var state = SubscriptionState.New("ehr", "Subscription/s1")
            .Observe(Notification("handshake", 0), Now)
            .Observe(Notification("event-notification", 1, 1), Now)
            .Observe(Notification("event-notification", 3, 2, 3), Now);
        Assert.Equal(3, state.LastEventNumber);
        Assert.Equal(0, state.GapsFound);
        Assert.Empty(state.Missing);
    }

    [Fact]
    public void Without_a_handshake_the_numbers_between_a_late_lower_event_and_the_first_one_processed_are_missing()
    {
        // Events 1–20 were retried and processed after 21 and 23: 21 began the sequence. 7 never came (dropped).
        var state = SubscriptionState.New("ehr", "Subscription/s1")
            .Observe(Notification("event-notification", 21, 21), Now)
            .Observe(Notification("event-notification", 23, 23), Now);
        Assert.Equal([22L], state.Missing);
        Assert.Equal(21, state.FirstEventNumber);

        state = state.Observe(Notification("event-notification", 1, 1), Now.AddSeconds(1));
        Assert.Equal([.. Enumerable.Range(2, 19).Select(n => (long)n), 22L], state.Missing);
        Assert.Equal(1, state.FirstEventNumber);
        foreach (var n in Enumerable.Range(2, 19).Where(n => n != 7))
        {
            state = state.Observe(Notification("event-notification", n, n), Now.AddSeconds(2));
        }

        Assert.Equal([7L, 22L], state.Missing);
        Assert.Equal(18, state.LateArrivals);
        Assert.Equal(23, state.LastEventNumber);
        Assert.Equal(0, state.GapsFound); // declared only after the grace period, as any missing number
    }

    [Fact]
    public void A_handshake_processed_after_events_opens_the_numbers_before_them_and_after_a_handshake_nothing_below_is_looked_for()
    {
        var late = SubscriptionState.New("ehr", "Subscription/s1")
            .Observe(Notification("event-notification", 5, 5), Now)
            .Observe(Notification("handshake", 0), Now);
        Assert.Equal([1L, 2L, 3L, 4L], late.Missing);
        Assert.Null(late.FirstEventNumber);

        // A subscription that had 50 events before the handshake: an older number redelivered opens nothing.
        var started = SubscriptionState.New("ehr", "Subscription/s1")
            .Observe(Notification("handshake", 50), Now)
            .Observe(Notification("event-notification", 51, 51), Now)
            .Observe(Notification("event-notification", 30, 30), Now);
        Assert.Empty(started.Missing);
        Assert.Null(started.FirstEventNumber);
        Assert.Equal(0, started.LateArrivals);
    }

    [Fact]
    public void A_skipped_number_is_missing_and_its_arrival_within_the_grace_period_is_only_late()
    {
        var state = SubscriptionState.New("ehr", "Subscription/s1")
            .Observe(Notification("handshake", 0), Now)
            .Observe(Notification("event-notification", 1, 1), Now)
            .Observe(Notification("event-notification", 4, 4), Now);
        Assert.Equal([2L, 3L], state.Missing);
        Assert.Equal(Now, state.MissingSince);
        Assert.Equal(0, state.GapsFound);
        Assert.Empty(state.MissingRanges()); // nothing is fetched before it is declared
        Assert.False(state.HasOverdueMissing(Now.AddSeconds(29), TimeSpan.FromSeconds(30)));

        state = state.Observe(Notification("event-notification", 4, 3), Now.AddSeconds(1));
        Assert.Equal([2L], state.Missing);
        Assert.Equal(1, state.LateArrivals);
        Assert.Equal(0, state.GapsFound);
        Assert.Equal(0, state.GapsRecovered);
        Assert.Equal(4, state.LastEventNumber);
        Assert.Equal(Now, state.MissingSince); // still the oldest missing number's
    }

    [Fact]
    public void A_number_missing_beyond_the_grace_period_is_declared_once_fetched_and_a_late_arrival_then_recovers_it()
    {
        var state = SubscriptionState.New("ehr", "Subscription/s1")
            .Observe(Notification("event-notification", 1, 1), Now)
            .Observe(Notification("event-notification", 5, 5), Now);
        Assert.True(state.HasOverdueMissing(Now.AddSeconds(30), TimeSpan.FromSeconds(30)));
        Assert.True(state.HasOverdueUndeclared(Now.AddSeconds(30), TimeSpan.FromSeconds(30)));
        Assert.False(state.HasOverdueUndeclared(Now.AddSeconds(29), TimeSpan.FromSeconds(30)));

        state = state.Declare().Declare();
        Assert.False(state.HasOverdueUndeclared(Now.AddSeconds(30), TimeSpan.FromSeconds(30))); // nothing left to declare
        Assert.Equal(3, state.GapsFound); // declared once, however often the sweeper looks
        Assert.Equal([(2L, 4L)], state.MissingRanges());

        state = state.Recovered([2, 3]).Observe(Notification("event-notification", 5, 4), Now.AddSeconds(31));
        Assert.Empty(state.Missing);
        Assert.Null(state.MissingSince);
        Assert.Equal(3, state.GapsRecovered);
        Assert.Equal(0, state.LateArrivals);
        Assert.False(state.HasOverdueMissing(Now.AddHours(1), TimeSpan.FromSeconds(30)));
    }

    [Theory]
    [InlineData("heartbeat")]
    [InlineData("query-status")]
    public void Events_since_start_beyond_the_last_number_opens_a_gap(string type)
    {
        var state = SubscriptionState.New("ehr", "Subscription/s1")
            .Observe(Notification("event-notification", 2, 2), Now)
            .Observe(Notification(type, 5), Now);
        Assert.Equal([3L, 4L, 5L], state.Missing);
        Assert.Equal(5, state.LastEventNumber);
        Assert.Equal(3, state.Declare().GapsFound);
    }

    [Fact]
    public void Heartbeat_repeating_the_last_event_opens_nothing()
    {
        var state = SubscriptionState.New("ehr", "Subscription/s1")
            .Observe(Notification("event-notification", 1, 1), Now)
            .Observe(Notification("heartbeat", 1, 1), Now.AddMinutes(1));
        Assert.Equal(1, state.LastEventNumber);
        Assert.Empty(state.Missing);
        Assert.Equal(Now.AddMinutes(1), state.LastHeartbeat);
    }

    [Fact]
    public void Recovered_numbers_close_the_gap_and_count()
    {
        var state = SubscriptionState.New("ehr", "Subscription/s1")
            .Observe(Notification("event-notification", 1, 1), Now)
            .Observe(Notification("event-notification", 5, 5), Now)
            .Declare()
            .Recovered([2, 3, 4, 99]);
        Assert.Empty(state.Missing);
        Assert.Empty(state.Declared!);
        Assert.Equal(3, state.GapsFound);
        Assert.Equal(3, state.GapsRecovered);
    }

    [Fact]
    public void Stale_when_nothing_was_heard_for_longer_than_the_heartbeat_period()
    {
        var state = SubscriptionState.New("ehr", "Subscription/s1").Observe(Notification("heartbeat", 0), Now) with { HeartbeatPeriod = TimeSpan.FromMinutes(5) };
        Assert.False(state.IsStale(Now.AddMinutes(4)));
        Assert.True(state.IsStale(Now.AddMinutes(6)));
        Assert.False((state with { HeartbeatPeriod = null }).IsStale(Now.AddDays(1)));
    }

    [Fact]
    public void Error_status_is_reported_and_cleared_when_active_again()
    {
        var state = SubscriptionState.New("ehr", "Subscription/s1").Observe(Notification("heartbeat", 0), Now);
        var json = "{\"resourceType\":\"Bundle\",\"type\":\"history\",\"entry\":[{\"resource\":{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"subscription\",\"valueReference\":{\"reference\":\"Subscription/s1\"}},{\"name\":\"status\",\"valueCode\":\"error\"},{\"name\":\"type\",\"valueCode\":\"query-status\"},{\"name\":\"error\",\"valueCodeableConcept\":{\"coding\":[{\"code\":\"delivery-failure\"}]}}]}}]}";
        var error = state.Observe(NotificationParser.Parse(Encoding.UTF8.GetBytes(json), 64, out _)!, Now);
        Assert.Equal("error", error.Status);
        Assert.Equal("delivery-failure", error.Error);
        Assert.Null(error.Observe(Notification("heartbeat", 0), Now).Error);
    }

    [Fact]
    public void Open_gaps_are_fetched_again_after_a_wait_that_doubles_up_to_the_longest_and_starts_again_once_none_is_open()
    {
        var first = TimeSpan.FromSeconds(30);
        var longest = TimeSpan.FromMinutes(4);
        var state = SubscriptionState.New("ehr", "Subscription/s1")
            .Observe(Notification("handshake", 0), Now)
            .Observe(Notification("event-notification", 1, 1), Now)
            .Observe(Notification("event-notification", 3, 3), Now)
            .Declare();
        Assert.True(state.RecoveryDue(Now));

        var waits = new List<TimeSpan>();
        var at = Now;
        for (var i = 0; i < 6; i++)
        {
            state = state.AfterRecoveryAttempt(at, first, longest);
            waits.Add(state.NextRecoveryAt!.Value - at);
            Assert.False(state.RecoveryDue(at));
            Assert.False(state.RecoveryDue(state.NextRecoveryAt.Value.AddTicks(-1)));
            at = state.NextRecoveryAt.Value;
            Assert.True(state.RecoveryDue(at));
        }

        Assert.Equal([30d, 60d, 120d, 240d, 240d, 240d], waits.Select(w => w.TotalSeconds));
        Assert.Equal(6, state.RecoveryAttempts);

        var recovered = state.Recovered([2]).AfterRecoveryAttempt(at, first, longest);
        Assert.Equal(0, recovered.RecoveryAttempts);
        Assert.Null(recovered.NextRecoveryAt);
        Assert.True(recovered.RecoveryDue(at));
    }

    [Fact]
    public void A_gap_closed_by_a_late_arrival_ends_its_backoff_so_the_next_gap_starts_at_the_first_wait()
    {
        var first = TimeSpan.FromSeconds(30);
        var longest = TimeSpan.FromHours(1);
        var state = SubscriptionState.New("ehr", "Subscription/s1")
            .Observe(Notification("handshake", 0), Now)
            .Observe(Notification("event-notification", 1, 1), Now)
            .Observe(Notification("event-notification", 3, 3), Now)
            .Declare()
            .AfterRecoveryAttempt(Now, first, longest)
            .AfterRecoveryAttempt(Now.AddSeconds(30), first, longest);
        Assert.Equal(2, state.RecoveryAttempts);

        // Event 2 arrives after all (the EHR delivered it late): no gap is open, and none is waited for.
        var closed = state.Observe(Notification("event-notification", 2, 2), Now.AddMinutes(1));
        Assert.Empty(closed.Declared ?? []);
        Assert.Equal(0, closed.RecoveryAttempts);
        Assert.Null(closed.NextRecoveryAt);

        // A later gap is a first try again: 30 s, not the 120 s a carried-over count would give.
        var next = closed.Observe(Notification("event-notification", 5, 5), Now.AddMinutes(2)).Declare().AfterRecoveryAttempt(Now.AddMinutes(3), first, longest);
        Assert.Equal(1, next.RecoveryAttempts);
        Assert.Equal(Now.AddMinutes(3) + first, next.NextRecoveryAt);
    }
}
