using System.Globalization;

namespace Engagement.Intake;

/// <summary>
/// What we know of one topic subscription at a source. Domain rules for gaps live here: a number beyond
/// <see cref="LastEventNumber"/> + 1 (in an event, a heartbeat or a query-status) is missing; one that arrives late
/// closes (a <see cref="LateArrivals"/>, not a gap: notifications are processed concurrently and may simply be out of
/// order). A number still missing <see cref="IntakeOptions.GapGracePeriod"/> after <see cref="MissingSince"/> is
/// declared a gap (<see cref="GapsFound"/>, listed in <see cref="Declared"/>) and fetched from the source; obtaining it
/// counts in <see cref="GapsRecovered"/>. When the sequence began with an event rather than a handshake or heartbeat
/// (which count the events before them), <see cref="FirstEventNumber"/> is the lowest number seen: a lower one that
/// arrives later — its notification processed after later ones, e.g. retried — makes the numbers between it and the
/// lowest missing too, as a number beyond the last does. Without that, which notification was processed first decided
/// which gaps could be seen (the reliability suite's gap run, 2026-12-07: a follow-up start retried 20 notifications, the
/// 21st began the sequence, and a dropped number below it was never found).
/// </summary>
public sealed record SubscriptionState(
    string Source,
    string Subscription,
    string? Topic,
    string? Status,
    long? LastEventNumber,
    DateTimeOffset? LastHeartbeat,
    DateTimeOffset? LastNotification,
    TimeSpan? HeartbeatPeriod,
    long GapsFound,
    long GapsRecovered,
    IReadOnlyList<long> Missing,
    string? Error,
    DateTimeOffset? MissingSince = null,
    long LateArrivals = 0,
    IReadOnlyList<long>? Declared = null,
    int RecoveryAttempts = 0,
    DateTimeOffset? NextRecoveryAt = null,
    long? FirstEventNumber = null)
{
    /// <summary>At most this many missing numbers are remembered (a larger gap still counts in <see cref="GapsFound"/>).</summary>
    public const int MaxMissing = 5000;

    public static SubscriptionState New(string source, string subscription) =>
        new(source, subscription, null, null, null, null, null, null, 0, 0, [], null);

    /// <summary>The state after a notification of <paramref name="type"/> with these event numbers arrived at <paramref name="now"/>.</summary>
    public SubscriptionState Observe(SubscriptionNotification notification, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(notification);
        var missing = new SortedSet<long>(Missing);
        var declared = new SortedSet<long>(Declared ?? []);
        var last = LastEventNumber;
        var found = GapsFound;
        var recovered = GapsRecovered;
        var late = LateArrivals;
        var first = FirstEventNumber;

        void Open(long from, long to)
        {
            // The numbers strictly between from and to are missing; beyond MaxMissing, a gap at once (it cannot be tracked).
            var count = to - from - 1;
            var kept = 0L;
            for (var n = from + 1; n < to && missing.Count < MaxMissing; n++)
            {
                missing.Add(n);
                kept++;
            }

            found += count - kept;
        }

        void Advance(long to)
        {
            if (last is null)
            {
                last = to;
                return;
            }

            if (to > last.Value + 1)
            {
                Open(last.Value, to);
            }

            if (to > last.Value)
            {
                last = to;
            }
        }

        switch (notification.Type)
        {
            case NotificationType.Handshake:
                var before = notification.EventsSinceSubscriptionStart ?? 0;
                if (last is null)
                {
                    last = before;
                }
                else if (first is { } lowest && before + 1 < lowest)
                {
                    // Processed after events: it says where the sequence began, so the numbers up to the lowest are missing.
                    Open(before, lowest);
                }

                first = null; // the handshake's count is the exact start: nothing below it is looked for
                break;
            case NotificationType.EventNotification or NotificationType.QueryEvent:
                foreach (var number in notification.Events.Select(e => e.Number).Order())
                {
                    if (last is null)
                    {
                        last = number;
                        first = number;
                    }
                    else if (first is { } lowest && number < lowest)
                    {
                        // Below the first number of a sequence that began with an event: what lies between is missing.
                        Open(number, lowest);
                        first = number;
                    }
                    else if (number <= last.Value && missing.Remove(number))
                    {
                        // Declared already (and perhaps being fetched): the gap closed. Otherwise merely out of order.
                        if (declared.Remove(number))
                        {
                            recovered++;
                        }
                        else
                        {
                            late++;
                        }
                    }
                    else if (number <= last.Value)
                    {
                        // A number seen before (a redelivery): nothing changes.
                    }
                    else
                    {
                        Advance(number);
                    }
                }

                break;
            default:
                // heartbeat, query-status: events-since-subscription-start says how many there were.
                if (notification.EventsSinceSubscriptionStart is { } since)
                {
                    if (last is null)
                    {
                        last = since;
                    }
                    else if (since > last.Value)
                    {
                        // events-since-subscription-start counts the events: every number up to it should have arrived.
                        Advance(since + 1);
                        last = since;
                    }
                }

                break;
        }

        var error = notification.Errors.Count > 0 ? string.Join(',', notification.Errors)
            : notification.Status == "error" ? "error" : (notification.Status == "active" ? null : Error);
        return (this with
        {
            Topic = notification.Topic ?? Topic,
            Status = notification.Status ?? Status,
            LastEventNumber = last,
            FirstEventNumber = first,
            LastHeartbeat = notification.Type is NotificationType.Heartbeat or NotificationType.Handshake ? now : LastHeartbeat,
            LastNotification = now,
            GapsFound = found,
            GapsRecovered = recovered,
            LateArrivals = late,
            Missing = [.. missing],
            Declared = [.. declared],
            MissingSince = missing.Count == 0 ? null : MissingSince ?? now,
            Error = error,
        }).WithoutBackoffOnceClosed();
    }

    /// <summary>These numbers are missing too (notified, but their resources could not be obtained).</summary>
    public SubscriptionState AlsoMissing(IReadOnlyCollection<long> numbers, DateTimeOffset now) =>
        numbers.Count == 0 ? this : this with { Missing = [.. Missing.Union(numbers).Order()], MissingSince = MissingSince ?? now };

    /// <summary>Whether missing numbers have waited out the grace period and should be declared and fetched.</summary>
    public bool HasOverdueMissing(DateTimeOffset now, TimeSpan grace) =>
        Missing.Count > 0 && (MissingSince is not { } since || now - since >= grace);

    /// <summary>Whether a missing number not declared yet has waited out the grace period (the next step would declare it).</summary>
    public bool HasOverdueUndeclared(DateTimeOffset now, TimeSpan grace) =>
        HasOverdueMissing(now, grace) && Missing.Except(Declared ?? []).Any();

    /// <summary>Every missing number not declared yet becomes a gap (counted once in <see cref="GapsFound"/>).</summary>
    public SubscriptionState Declare()
    {
        var declared = new SortedSet<long>(Declared ?? []);
        var added = Missing.Count(declared.Add);
        return added == 0 ? this : this with { Declared = [.. declared], GapsFound = GapsFound + added };
    }

    /// <summary>These numbers were obtained (recovered through <c>$events</c> or a re-query).</summary>
    public SubscriptionState Recovered(IEnumerable<long> numbers)
    {
        var missing = new SortedSet<long>(Missing);
        var declared = new SortedSet<long>(Declared ?? []);
        var count = 0;
        foreach (var n in numbers)
        {
            if (missing.Remove(n))
            {
                count++;
                declared.Remove(n);
            }
        }

        return (this with
        {
            Missing = [.. missing],
            Declared = [.. declared],
            GapsRecovered = GapsRecovered + count,
            MissingSince = missing.Count == 0 ? null : MissingSince,
        }).WithoutBackoffOnceClosed();
    }

    /// <summary>
    /// Whether declared gaps may be fetched again now: never tried, or the wait after the last try is over. A source that
    /// cannot return an event (it has expired it, or never had it) is asked again less and less often, not at every sweep.
    /// </summary>
    public bool RecoveryDue(DateTimeOffset now) => NextRecoveryAt is not { } next || now >= next;

    /// <summary>
    /// After a try to fetch the declared gaps at <paramref name="now"/>: with gaps still open, the next try waits
    /// <paramref name="first"/>, then twice as long after each further try, up to <paramref name="longest"/>; with none
    /// open, the count starts again.
    /// </summary>
    public SubscriptionState AfterRecoveryAttempt(DateTimeOffset now, TimeSpan first, TimeSpan longest)
    {
        if ((Declared ?? []).Count == 0)
        {
            return WithoutBackoffOnceClosed();
        }

        var attempts = RecoveryAttempts + 1;
        var wait = Math.Min(longest.Ticks, first.Ticks * Math.Pow(2, Math.Min(attempts - 1, 40)));
        return this with { RecoveryAttempts = attempts, NextRecoveryAt = now + TimeSpan.FromTicks((long)wait) };
    }

    /// <summary>
    /// No declared gap open (recovered, or arrived late after all): no try is counted or waited for, so the next gap
    /// starts at the first wait.
    /// </summary>
    private SubscriptionState WithoutBackoffOnceClosed() =>
        (Declared ?? []).Count == 0 && (RecoveryAttempts != 0 || NextRecoveryAt is not null) ? this with { RecoveryAttempts = 0, NextRecoveryAt = null } : this;

    /// <summary>Heartbeats overdue: nothing heard for longer than the heartbeat period.</summary>
    public bool IsStale(DateTimeOffset now)
    {
        var heard = LastNotification ?? LastHeartbeat;
        return HeartbeatPeriod is { } period && heard is { } at && now - at > period;
    }

    internal string MissingText => string.Join(',', Missing.Select(n => n.ToString(CultureInfo.InvariantCulture)));

    internal string DeclaredText => string.Join(',', (Declared ?? []).Select(n => n.ToString(CultureInfo.InvariantCulture)));

    internal static IReadOnlyList<long> ParseMissing(string? text) =>
        string.IsNullOrEmpty(text) ? [] : [.. text.Split(',').Select(t => long.Parse(t, CultureInfo.InvariantCulture))];

    /// <summary>Declared gaps grouped into contiguous ranges, for <c>$events</c>.</summary>
    public IEnumerable<(long From, long To)> MissingRanges()
    {
        long? start = null;
        long previous = 0;
        foreach (var n in (Declared ?? []).Order())
        {
            if (start is null)
            {
                start = n;
            }
            else if (n != previous + 1)
            {
                yield return (start.Value, previous);
                start = n;
            }

            previous = n;
        }

        if (start is not null)
        {
            yield return (start.Value, previous);
        }
    }
}

/// <summary>The operator's view of <c>GET /api/subscriptions/{source}</c>.</summary>
public sealed record SubscriptionsView(string Source, IReadOnlyList<SubscriptionView> Subscriptions);

public sealed record SubscriptionView(
    string Subscription,
    string? Topic,
    string? Status,
    bool Stale,
    long? LastEventNumber,
    DateTimeOffset? LastHeartbeat,
    DateTimeOffset? LastNotification,
    double? HeartbeatPeriodSeconds,
    long GapsFound,
    long GapsRecovered,
    long LateArrivals,
    IReadOnlyList<long> Missing,
    string? Error,
    int RecoveryAttempts,
    DateTimeOffset? NextRecoveryAt)
{
    public static SubscriptionView From(SubscriptionState state, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        return new(state.Subscription, state.Topic, state.Status, state.IsStale(now), state.LastEventNumber, state.LastHeartbeat,
            state.LastNotification, state.HeartbeatPeriod?.TotalSeconds, state.GapsFound, state.GapsRecovered, state.LateArrivals, state.Missing, state.Error,
            state.RecoveryAttempts, state.NextRecoveryAt);
    }
}
