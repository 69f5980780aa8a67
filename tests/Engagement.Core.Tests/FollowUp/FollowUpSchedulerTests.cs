using Engagement.FollowUp;
using Microsoft.Extensions.Time.Testing;
using static Engagement.Core.Tests.FollowUp.FollowUpFixtures;

namespace Engagement.Core.Tests.FollowUp;

public class FollowUpSchedulerTests
{
    private const double Day = FollowUpScheduler.ProductionSecondsPerDay;

    private static readonly TimeZoneInfo NewYork = Zone("America/New_York");
    private static readonly int[] TwoSecondDayPhq9Seconds = [28, 56, 84, 112, 140, 168];

    private static readonly ContactWindow NineToEight = new(new TimeOnly(9, 0), new TimeOnly(20, 0));

    // "Now" before every anchor in these tests, so nothing is in the past unless a test says so.
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private FollowUpScheduler Scheduler => new(time);

    private static DateTimeOffset Utc(int month, int day, int hour, int minute = 0, int year = 2026) =>
        new(year, month, day, hour, minute, 0, TimeSpan.Zero);

    private static DateTimeOffset At(string isoWithOffset) => DateTimeOffset.Parse(isoWithOffset, System.Globalization.CultureInfo.InvariantCulture);

    private static ProtocolDefinition OneActivity(ActivityTiming timing, ReminderPolicy? reminders = null, EscalationPolicy? escalation = null) => new()
    {
        Id = "test",
        SourceType = "PlanDefinition",
        Triggers = [ProtocolTrigger.NamedEvent("test")],
        Activities =
        [
            new ProtocolActivity
            {
                Id = "a",
                Title = "A",
                Timing = timing,
                Content = new ActivityContent { QuestionnaireCanonical = $"{CanonicalBase}/Questionnaire/phq-9" },
                Reminders = reminders ?? ReminderPolicy.None,
                Escalation = escalation,
            },
        ],
    };

    private static OffsetTiming Days(int days) => new(ProtocolDuration.Days(days));

    [Fact]
    public void Day_offset_lands_on_the_local_calendar_day_at_the_anchor_time_of_day()
    {
        var schedule = Scheduler.Schedule(OneActivity(Days(2)), At("2026-02-10T10:00:00-05:00"), NewYork, NineToEight, Day);

        Assert.Equal(Utc(2, 12, 15), Assert.Single(schedule.Occurrences).DueUtc);
    }

    [Fact]
    public void Due_time_before_the_contact_window_moves_to_the_window_start_that_day()
    {
        var schedule = Scheduler.Schedule(OneActivity(Days(2)), At("2026-02-10T06:30:00-05:00"), NewYork, NineToEight, Day);

        Assert.Equal(At("2026-02-12T09:00:00-05:00"), schedule.Occurrences[0].DueUtc);
    }

    [Fact]
    public void Due_time_after_the_contact_window_moves_to_the_next_day_window_start()
    {
        var schedule = Scheduler.Schedule(OneActivity(Days(2)), At("2026-02-10T22:15:00-05:00"), NewYork, NineToEight, Day);

        Assert.Equal(At("2026-02-13T09:00:00-05:00"), schedule.Occurrences[0].DueUtc);
    }

    [Fact]
    public void Due_time_at_the_window_end_is_still_inside()
    {
        var schedule = Scheduler.Schedule(OneActivity(Days(1)), At("2026-02-10T20:00:00-05:00"), NewYork, NineToEight, Day);

        Assert.Equal(At("2026-02-11T20:00:00-05:00"), schedule.Occurrences[0].DueUtc);
    }

    [Fact]
    public void Same_discharge_instant_gives_each_patient_their_own_local_day_and_window()
    {
        var anchor = Utc(2, 10, 23); // 18:00 in New York, 08:00 next day in Tokyo
        var protocol = OneActivity(Days(2));

        var newYork = Scheduler.Schedule(protocol, anchor, NewYork, NineToEight, Day).Occurrences[0].DueUtc;
        var tokyo = Scheduler.Schedule(protocol, anchor, Zone("Asia/Tokyo"), NineToEight, Day).Occurrences[0].DueUtc;

        Assert.Equal(At("2026-02-12T18:00:00-05:00"), newYork);
        Assert.Equal(At("2026-02-13T09:00:00+09:00"), tokyo);
    }

    [Fact]
    public void Day_offset_across_spring_forward_keeps_the_local_time_not_the_elapsed_hours()
    {
        // 10:00 EST on Friday; DST starts Sunday 2026-03-08 at 02:00. Day 2 is Sunday 10:00 EDT, 47 h later.
        var schedule = Scheduler.Schedule(OneActivity(Days(2)), At("2026-03-06T10:00:00-05:00"), NewYork, NineToEight, Day);

        Assert.Equal(Utc(3, 8, 14), schedule.Occurrences[0].DueUtc);
    }

    [Fact]
    public void Day_offset_across_fall_back_keeps_the_local_time_not_the_elapsed_hours()
    {
        // 10:00 EDT on Friday; DST ends Sunday 2026-11-01 at 02:00. Day 2 is Sunday 10:00 EST, 49 h later.
        var schedule = Scheduler.Schedule(OneActivity(Days(2)), At("2026-10-30T10:00:00-04:00"), NewYork, NineToEight, Day);

        Assert.Equal(Utc(11, 1, 15), schedule.Occurrences[0].DueUtc);
    }

    [Fact]
    public void Local_time_skipped_by_spring_forward_moves_forward_by_the_gap()
    {
        // 02:30 does not exist on 2026-03-08 in New York; it becomes 03:30 EDT.
        var schedule = Scheduler.Schedule(OneActivity(Days(1)), At("2026-03-07T02:30:00-05:00"), NewYork, ContactWindow.AllDay, Day);

        Assert.Equal(At("2026-03-08T03:30:00-04:00"), schedule.Occurrences[0].DueUtc);
    }

    [Fact]
    public void Local_time_repeated_by_fall_back_is_its_first_occurrence()
    {
        // 01:30 happens twice on 2026-11-01 in New York (EDT, then EST); the earlier one is taken.
        var schedule = Scheduler.Schedule(OneActivity(Days(1)), At("2026-10-31T01:30:00-04:00"), NewYork, ContactWindow.AllDay, Day);

        Assert.Equal(At("2026-11-01T01:30:00-04:00"), schedule.Occurrences[0].DueUtc);
    }

    [Fact]
    public void Window_start_on_a_spring_forward_day_is_the_local_window_start()
    {
        // Anchor 06:00 EST; day 2 = Sunday 2026-03-08 06:00 EDT, before the 09:00 window start.
        var schedule = Scheduler.Schedule(OneActivity(Days(2)), At("2026-03-06T06:00:00-05:00"), NewYork, NineToEight, Day);

        Assert.Equal(At("2026-03-08T09:00:00-04:00"), schedule.Occurrences[0].DueUtc);
    }

    [Fact]
    public void Reminders_follow_the_response_window_then_the_interval_and_the_escalation_comes_an_interval_after_the_last()
    {
        var protocol = OneActivity(Days(2), new ReminderPolicy(2, ProtocolDuration.Days(1)), new EscalationPolicy("urgent", "No response"));

        var occurrence = Scheduler.Schedule(protocol, At("2026-02-10T10:00:00-05:00"), NewYork, NineToEight, Day).Occurrences[0];

        Assert.Equal(At("2026-02-12T10:00:00-05:00"), occurrence.DueUtc);
        Assert.Equal([At("2026-02-13T10:00:00-05:00"), At("2026-02-14T10:00:00-05:00")], occurrence.RemindersUtc.ToArray());
        Assert.Equal(At("2026-02-15T10:00:00-05:00"), occurrence.EscalationUtc);
    }

    [Fact]
    public void Reminders_respect_quiet_hours_but_the_care_team_escalation_does_not()
    {
        var protocol = OneActivity(Days(1), new ReminderPolicy(1, ProtocolDuration.Hours(8)), new EscalationPolicy("routine", null)) with { };
        var activity = protocol.Activities[0] with { ResponseWindow = ProtocolDuration.Hours(8) };
        protocol = protocol with { Activities = [activity] };

        var occurrence = Scheduler.Schedule(protocol, At("2026-02-10T16:00:00-05:00"), NewYork, NineToEight, Day).Occurrences[0];

        Assert.Equal(At("2026-02-11T16:00:00-05:00"), occurrence.DueUtc);
        Assert.Equal([At("2026-02-12T09:00:00-05:00")], occurrence.RemindersUtc.ToArray()); // 00:00 is quiet: next morning
        Assert.Equal(At("2026-02-12T17:00:00-05:00"), occurrence.EscalationUtc);
    }

    [Fact]
    public void Without_escalation_or_reminders_there_are_none()
    {
        var occurrence = Scheduler.Schedule(OneActivity(Days(1)), At("2026-02-10T10:00:00-05:00"), NewYork, NineToEight, Day).Occurrences[0];

        Assert.Empty(occurrence.RemindersUtc.ToArray());
        Assert.Null(occurrence.EscalationUtc);
    }

    [Fact]
    public void Post_discharge_schedule_is_in_time_order_with_links_valid_for_seven_days()
    {
        var schedule = Scheduler.Schedule(ShippedProtocol("post-discharge"), At("2026-03-06T10:00:00-05:00"), NewYork, NineToEight, Day);

        Assert.Equal(["checkin-1", "phq-9-day-7-1", "phq-9-day-30-1"], schedule.Occurrences.Select(o => o.Key));
        Assert.Equal(
            [At("2026-03-08T10:00:00-04:00"), At("2026-03-13T10:00:00-04:00"), At("2026-04-05T10:00:00-04:00")],
            schedule.Occurrences.Select(o => o.DueUtc));
        Assert.Equal(At("2026-03-15T10:00:00-04:00"), schedule.Occurrences[0].LinkExpiresUtc);
        Assert.All(schedule.Occurrences, o => Assert.Equal(2, o.RemindersUtc.Length));
    }

    [Fact]
    public void Depression_monitoring_sends_phq9_every_14_days_within_3_months()
    {
        var schedule = Scheduler.Schedule(ShippedProtocol("depression-monitoring"), At("2026-01-05T11:00:00-05:00"), NewYork, NineToEight, Day);

        // 3 months end on 2026-04-05; day 98 (2026-04-13) is past it. DST starts on 2026-03-08: local 11:00 stays.
        Assert.Equal(
            [
                At("2026-01-19T11:00:00-05:00"), At("2026-02-02T11:00:00-05:00"), At("2026-02-16T11:00:00-05:00"),
                At("2026-03-02T11:00:00-05:00"), At("2026-03-16T11:00:00-04:00"), At("2026-03-30T11:00:00-04:00"),
            ],
            schedule.Occurrences.Select(o => o.DueUtc));
        Assert.Equal([1, 2, 3, 4, 5, 6], schedule.Occurrences.Select(o => o.Sequence));
    }

    [Fact]
    public void Recurrence_with_count_stops_at_the_count()
    {
        var schedule = Scheduler.Schedule(
            OneActivity(new RecurringTiming(ProtocolDuration.Days(7), 3, null)), At("2026-02-02T10:00:00-05:00"), NewYork, NineToEight, Day);

        Assert.Equal(
            [At("2026-02-09T10:00:00-05:00"), At("2026-02-16T10:00:00-05:00"), At("2026-02-23T10:00:00-05:00")],
            schedule.Occurrences.Select(o => o.DueUtc));
    }

    [Fact]
    public void Appointment_reminders_go_out_three_and_one_days_before_the_start()
    {
        var schedule = Scheduler.Schedule(ShippedProtocol("appointment-reminder"), At("2026-04-20T14:30:00-04:00"), NewYork, NineToEight, Day);

        Assert.Equal(
            [At("2026-04-17T14:30:00-04:00"), At("2026-04-19T14:30:00-04:00")],
            schedule.Occurrences.Select(o => o.DueUtc));
        Assert.Equal(At("2026-04-20T02:30:00-04:00"), schedule.Occurrences[1].EscalationUtc);
    }

    [Fact]
    public void Shrunken_day_scales_offsets_from_the_anchor()
    {
        var anchor = At("2026-02-10T10:00:00-05:00");

        var schedule = Scheduler.Schedule(OneActivity(Days(2), new ReminderPolicy(2, ProtocolDuration.Days(1))), anchor, NewYork, NineToEight, 2);

        var occurrence = schedule.Occurrences[0];
        Assert.Equal(anchor.AddSeconds(4), occurrence.DueUtc);
        Assert.Equal([anchor.AddSeconds(6), anchor.AddSeconds(8)], occurrence.RemindersUtc.ToArray());
        Assert.Equal(anchor.AddSeconds(4 + 14), occurrence.LinkExpiresUtc);
    }

    [Fact]
    public void Shrunken_day_scales_the_contact_window_shift_too()
    {
        // 22:00 is after the window: day 2 moves to 09:00 the day after, 59 protocol hours = 59/24 * 2 s.
        var anchor = At("2026-02-10T22:00:00-05:00");

        var due = Scheduler.Schedule(OneActivity(Days(2)), anchor, NewYork, NineToEight, 2).Occurrences[0].DueUtc;

        Assert.Equal(59.0 / 24 * 2, (due - anchor).TotalSeconds, precision: 6);
    }

    [Fact]
    public void Shrunken_day_runs_depression_monitoring_in_seconds()
    {
        var anchor = At("2026-04-06T11:00:00-04:00"); // no DST change in the following 3 months

        var schedule = Scheduler.Schedule(ShippedProtocol("depression-monitoring"), anchor, NewYork, NineToEight, 2);

        Assert.Equal(TwoSecondDayPhq9Seconds.Select(s => anchor.AddSeconds(s)), schedule.Occurrences.Select(o => o.DueUtc));
    }

    [Fact]
    public void Occurrences_already_due_are_marked_past()
    {
        time.SetUtcNow(At("2026-03-10T00:00:00-05:00"));

        var schedule = Scheduler.Schedule(ShippedProtocol("post-discharge"), At("2026-03-06T10:00:00-05:00"), NewYork, NineToEight, Day);

        Assert.Equal([true, false, false], schedule.Occurrences.Select(o => o.IsPast));
    }

    [Fact]
    public void Patient_preferences_supply_zone_and_window()
    {
        var preferences = PatientPreferences.From(Load<Hl7.Fhir.Model.Patient>("Patient-spanish.json"), new PreferenceDefaults());

        // 08:00 in Madrid is before the patient's 10:00 window start.
        var schedule = Scheduler.Schedule(OneActivity(Days(2)), At("2026-02-10T08:00:00+01:00"), preferences, Day);

        Assert.Equal("Europe/Madrid", schedule.TimeZoneId);
        Assert.Equal(At("2026-02-12T10:00:00+01:00"), schedule.Occurrences[0].DueUtc);
    }

    [Fact]
    public void Non_positive_seconds_per_day_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Scheduler.Schedule(OneActivity(Days(1)), Utc(2, 1, 0), NewYork, NineToEight, 0));
    }

    // A send planned inside the window the patient had then is checked against the window they have now.

    [Fact]
    public void A_send_planned_inside_the_current_window_goes_now()
    {
        var anchor = At("2026-03-10T08:00:00-04:00");
        Assert.Null(FollowUpScheduler.WindowOpensAt(anchor, At("2026-03-12T10:30:00-04:00"), NineToEight, NewYork, Day));
        Assert.Null(FollowUpScheduler.WindowOpensAt(anchor, At("2026-03-12T20:00:00-04:00"), NineToEight, NewYork, Day)); // the end is inside
        Assert.Null(FollowUpScheduler.WindowOpensAt(anchor, At("2026-03-12T08:59:30-04:00"), NineToEight, NewYork, Day)); // within a minute of the opening
    }

    [Fact]
    public void A_send_planned_before_or_after_a_changed_window_waits_for_its_next_opening_in_the_patients_zone()
    {
        var anchor = At("2026-03-10T08:00:00-04:00");
        Assert.Equal(At("2026-03-12T09:00:00-04:00"), FollowUpScheduler.WindowOpensAt(anchor, At("2026-03-12T07:00:00-04:00"), NineToEight, NewYork, Day));
        Assert.Equal(At("2026-03-13T09:00:00-04:00"), FollowUpScheduler.WindowOpensAt(anchor, At("2026-03-12T21:15:00-04:00"), NineToEight, NewYork, Day));

        // The patient moved to another zone: 10:30 in New York is 07:30 in Los Angeles, before their window.
        Assert.Equal(At("2026-03-12T09:00:00-07:00"), FollowUpScheduler.WindowOpensAt(anchor, At("2026-03-12T10:30:00-04:00"), NineToEight, Zone("America/Los_Angeles"), Day));
    }

    [Fact]
    public void On_a_shrunk_clock_the_window_is_checked_in_protocol_time_and_the_opening_mapped_back()
    {
        // 2 s per protocol day: a planned send 5 s after the anchor is protocol day 2.5, 20:00 local for an 08:00 anchor:
        // inside 09:00-20:00; at 5.1 s it is 21:12, after it, and the next opening (day 3, 09:00) is 6.083 s after the anchor.
        var anchor = At("2026-03-10T08:00:00-04:00");
        Assert.Null(FollowUpScheduler.WindowOpensAt(anchor, anchor.AddSeconds(5), NineToEight, NewYork, 2));
        var opens = FollowUpScheduler.WindowOpensAt(anchor, anchor.AddSeconds(5.1), NineToEight, NewYork, 2);
        Assert.Equal(anchor.AddTicks((long)(TimeSpan.FromHours(73).Ticks * (2m / 86400m))), opens);
    }
}
