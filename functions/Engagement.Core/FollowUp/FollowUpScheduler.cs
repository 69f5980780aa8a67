using System.Collections.Immutable;

namespace Engagement.FollowUp;

/// <summary>One occurrence of an activity and the instants (UTC) of everything that follows from it.</summary>
public sealed record ScheduledOccurrence(
    string ActivityId,
    int Sequence,
    DateTimeOffset DueUtc,
    ImmutableArray<DateTimeOffset> RemindersUtc,
    DateTimeOffset? EscalationUtc,
    DateTimeOffset LinkExpiresUtc,
    bool IsPast)
{
    /// <summary>Stable key of the occurrence within a run (<c>phq-9-2</c>), for deterministic ids.</summary>
    public string Key => $"{ActivityId}-{Sequence}";
}

/// <summary>A protocol laid out in time for one patient.</summary>
public sealed record FollowUpSchedule(
    string ProtocolId,
    DateTimeOffset AnchorUtc,
    string TimeZoneId,
    double SecondsPerDay,
    ImmutableArray<ScheduledOccurrence> Occurrences);

/// <summary>
/// Lays a protocol out in time. Pure: the same protocol, anchor, zone, window and clock give the same schedule.
/// <para>
/// Rules. The schedule is first computed in protocol time (a day is 86,400 s): day, week and month offsets land
/// on the patient's local calendar day at the anchor's local time of day; minute and hour offsets are elapsed
/// time. Every instant that contacts the patient (the activity, its reminders) is moved into the contact window:
/// before the window start to that day's start, after the window end to the next day's start. Reminders follow
/// the (moved) due instant after the response window, then one every reminder interval; the care team's
/// escalation comes one interval after the last reminder (one response window after the due instant when there
/// are no reminders) and is not bound to the patient's window. Skipped wall-clock times (spring forward) move
/// forward by the gap; repeated ones (fall back) take their first occurrence.
/// </para>
/// <para>
/// Then protocol time is mapped to wall-clock time by scaling every instant's distance from the anchor by
/// <c>secondsPerDay / 86400</c>, so a shrunken clock keeps the offsets, intervals and windows in proportion.
/// </para>
/// </summary>
public sealed class FollowUpScheduler(TimeProvider timeProvider)
{
    public const double ProductionSecondsPerDay = 86400;

    /// <summary>A recurrence bounded by duration alone never yields more than this many occurrences.</summary>
    public const int MaxOccurrences = 500;

    public FollowUpSchedule Schedule(ProtocolDefinition protocol, DateTimeOffset anchor, PatientPreferences preferences, double secondsPerDay)
    {
        ArgumentNullException.ThrowIfNull(preferences);
        return Schedule(protocol, anchor, preferences.TimeZone, preferences.ContactWindow, secondsPerDay);
    }

    public FollowUpSchedule Schedule(ProtocolDefinition protocol, DateTimeOffset anchor, TimeZoneInfo zone, ContactWindow window, double secondsPerDay)
    {
        ArgumentNullException.ThrowIfNull(protocol);
        ArgumentNullException.ThrowIfNull(zone);
        if (!(secondsPerDay > 0) || double.IsInfinity(secondsPerDay))
        {
            throw new ArgumentOutOfRangeException(nameof(secondsPerDay), secondsPerDay, "Seconds per protocol day must be a positive number.");
        }

        var clock = new ProtocolClock(anchor.ToUniversalTime(), zone, secondsPerDay);
        var now = timeProvider.GetUtcNow();
        var occurrences = new List<ScheduledOccurrence>();
        foreach (var activity in protocol.Activities)
        {
            var sequence = 0;
            foreach (var nominal in NominalInstants(activity.Timing, clock))
            {
                var due = window.MoveInto(nominal, zone);
                var reminders = ImmutableArray.CreateBuilder<DateTimeOffset>(activity.Reminders.Count);
                var last = due;
                for (var r = 0; r < activity.Reminders.Count; r++)
                {
                    last = window.MoveInto(clock.Add(last, r == 0 ? activity.ResponseWindow : activity.Reminders.Interval), zone);
                    reminders.Add(last);
                }

                DateTimeOffset? escalation = activity.Escalation is null
                    ? null
                    : clock.Add(last, activity.Reminders.Count == 0 ? activity.ResponseWindow : activity.Reminders.Interval);

                var wallDue = clock.ToWall(due);
                occurrences.Add(new ScheduledOccurrence(
                    activity.Id,
                    ++sequence,
                    wallDue,
                    [.. reminders.Select(clock.ToWall)],
                    escalation is { } e ? clock.ToWall(e) : null,
                    clock.ToWall(clock.Add(due, protocol.LinkLifetime)),
                    wallDue < now));
            }
        }

        return new FollowUpSchedule(
            protocol.Id,
            clock.Anchor,
            zone.Id,
            secondsPerDay,
            [.. occurrences.OrderBy(o => o.DueUtc).ThenBy(o => o.ActivityId, StringComparer.Ordinal).ThenBy(o => o.Sequence)]);
    }

    /// <summary>
    /// At send time: null when the wall-clock instant <paramref name="atUtc"/> the send was planned for is inside the
    /// patient's contact window as it is now (the patient may have changed it, or their time zone, since the run was
    /// planned); otherwise the wall-clock instant the window next opens. Evaluated in protocol time on the run's clock
    /// (anchor and scale), like the schedule; within a protocol minute of the opening counts as inside.
    /// </summary>
    public static DateTimeOffset? WindowOpensAt(DateTimeOffset anchorUtc, DateTimeOffset atUtc, ContactWindow window, TimeZoneInfo zone, double secondsPerDay)
    {
        ArgumentNullException.ThrowIfNull(zone);
        var scale = (decimal)secondsPerDay / (decimal)ProductionSecondsPerDay;
        var protocolNow = anchorUtc.AddTicks((long)decimal.Round((atUtc - anchorUtc).Ticks / scale));
        var opens = window.MoveInto(protocolNow, zone);
        return opens - protocolNow <= TimeSpan.FromMinutes(1)
            ? null
            : anchorUtc.AddTicks((long)decimal.Round((opens - anchorUtc).Ticks * scale));
    }

    private static IEnumerable<DateTimeOffset> NominalInstants(ActivityTiming timing, ProtocolClock clock)
    {
        switch (timing)
        {
            case OffsetTiming offset:
                yield return clock.Add(clock.Anchor, offset.Offset);
                break;
            case RecurringTiming recurring:
                var end = recurring.Bound is { } bound ? clock.Add(clock.Anchor, bound) : (DateTimeOffset?)null;
                var limit = Math.Min(recurring.Count ?? MaxOccurrences, MaxOccurrences);
                for (var k = 1; k <= limit; k++)
                {
                    var at = clock.Add(clock.Anchor, recurring.Period.Times(k));
                    if (at > end)
                    {
                        yield break;
                    }

                    yield return at;
                }

                break;
            case AbsoluteTiming absolute:
                foreach (var instant in absolute.Instants)
                {
                    yield return instant.ToUniversalTime();
                }

                break;
            default:
                throw new NotSupportedException($"Unknown activity timing {timing.GetType().Name}.");
        }
    }

    /// <summary>Protocol-time arithmetic in the patient's zone, and the mapping to wall-clock time.</summary>
    private sealed class ProtocolClock(DateTimeOffset anchor, TimeZoneInfo zone, double secondsPerDay)
    {
        private readonly decimal scale = (decimal)secondsPerDay / (decimal)ProductionSecondsPerDay;

        public DateTimeOffset Anchor { get; } = anchor;

        public DateTimeOffset Add(DateTimeOffset instant, ProtocolDuration duration)
        {
            if (!duration.IsCalendar)
            {
                return instant + duration.Elapsed;
            }

            var local = LocalTime.ToLocal(instant, zone);
            var moved = duration.Unit == ProtocolTimeUnit.Months
                ? local.AddMonths((int)duration.Value)
                : local.AddDays(duration.WholeDays);
            return LocalTime.ToInstant(moved, zone);
        }

        public DateTimeOffset ToWall(DateTimeOffset protocolInstant)
        {
            var ticks = (protocolInstant - Anchor).Ticks;
            return Anchor.AddTicks((long)decimal.Round(ticks * scale));
        }
    }
}
