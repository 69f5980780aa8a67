using Engagement.FollowUp;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Time.Testing;
using static Engagement.Core.Tests.FollowUp.FollowUpFixtures;

namespace Engagement.Core.Tests.FollowUp;

public class CarePlanProtocolTests
{
    private static readonly TimeZoneInfo NewYork = Zone("America/New_York");

    private static DateTimeOffset At(string iso) => DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture);

    private static CarePlan LoadCarePlan() => Load<CarePlan>("CarePlan-active.json");

    private static CarePlan WithSchedule(string scheduledString)
    {
        var carePlan = LoadCarePlan();
        carePlan.Activity[0].Detail!.Scheduled = new FhirString(scheduledString);
        return carePlan;
    }

    [Fact]
    public void Active_care_plan_becomes_a_protocol_of_its_open_activities()
    {
        var protocol = ProtocolDefinition.FromCarePlan(LoadCarePlan()).GetProtocolOrThrow();

        Assert.Equal("careplan-cp-3001", protocol.Id);
        Assert.Equal("CarePlan/cp-3001", protocol.Url);
        Assert.Equal("4", protocol.Version);
        Assert.Equal("CarePlan", protocol.SourceType);
        Assert.Equal("%resource.period.start", protocol.Anchor!.Text);
        Assert.Equal(["weigh-in", "phq-9", "education", "call"], protocol.Activities.Select(a => a.Id)); // "done" is completed
        Assert.Equal("checkin", protocol.Activities[0].Content.MessageTemplateCode);
        Assert.Equal($"{CanonicalBase}/Questionnaire/phq-9", protocol.Activities[1].Content.QuestionnaireCanonical);
        Assert.Equal("Read the low-salt diet leaflet", protocol.Activities[2].Content.Description);
    }

    [Fact]
    public void Care_plan_activities_read_day_n_recurrences_fixed_periods_and_iso_durations()
    {
        var protocol = ProtocolDefinition.FromCarePlan(LoadCarePlan()).GetProtocolOrThrow();

        Assert.Equal(new OffsetTiming(ProtocolDuration.Days(3)), protocol.Activities[0].Timing);
        Assert.Equal(new RecurringTiming(ProtocolDuration.Days(7), 4, null), protocol.Activities[1].Timing);
        Assert.Equal([At("2026-05-10T17:00:00Z")], Assert.IsType<AbsoluteTiming>(protocol.Activities[2].Timing).Instants.ToArray());
        Assert.Equal(new OffsetTiming(ProtocolDuration.Days(2)), protocol.Activities[3].Timing);
    }

    [Fact]
    public void Care_plan_schedule_is_anchored_at_the_plan_start_in_the_patient_zone()
    {
        var carePlan = LoadCarePlan();
        var protocol = ProtocolDefinition.FromCarePlan(carePlan).GetProtocolOrThrow();
        var anchor = protocol.ResolveAnchor(carePlan, DateTimeOffset.UnixEpoch, NewYork);
        var scheduler = new FollowUpScheduler(new FakeTimeProvider(At("2026-05-01T00:00:00Z")));

        var schedule = scheduler.Schedule(protocol, anchor, NewYork, ContactWindow.Default, FollowUpScheduler.ProductionSecondsPerDay);

        Assert.Equal(At("2026-05-04T09:30:00-04:00"), anchor);
        Assert.Equal(
            [
                ("call-1", At("2026-05-06T09:30:00-04:00")),
                ("weigh-in-1", At("2026-05-07T09:30:00-04:00")),
                ("education-1", At("2026-05-10T13:00:00-04:00")),
                ("phq-9-1", At("2026-05-11T09:30:00-04:00")),
                ("phq-9-2", At("2026-05-18T09:30:00-04:00")),
                ("phq-9-3", At("2026-05-25T09:30:00-04:00")),
                ("phq-9-4", At("2026-06-01T09:30:00-04:00")),
            ],
            schedule.Occurrences.Select(o => (o.Key, o.DueUtc)));
    }

    [Theory]
    [InlineData("day 10", 10, ProtocolTimeUnit.Days)]
    [InlineData("Day 1", 1, ProtocolTimeUnit.Days)]
    [InlineData("P14D", 14, ProtocolTimeUnit.Days)]
    [InlineData("P2W", 2, ProtocolTimeUnit.Weeks)]
    [InlineData("PT12H", 12, ProtocolTimeUnit.Hours)]
    [InlineData("PT90M", 90, ProtocolTimeUnit.Minutes)]
    public void Scheduled_string_offsets_are_read(string text, int value, ProtocolTimeUnit unit)
    {
        var protocol = ProtocolDefinition.FromCarePlan(WithSchedule(text)).GetProtocolOrThrow();

        Assert.Equal(new OffsetTiming(new ProtocolDuration(value, unit)), protocol.Activities[0].Timing);
    }

    [Fact]
    public void Scheduled_string_with_a_date_time_is_a_fixed_instant()
    {
        var protocol = ProtocolDefinition.FromCarePlan(WithSchedule("2026-05-09T10:00:00+02:00")).GetProtocolOrThrow();

        Assert.Equal([At("2026-05-09T08:00:00Z")], Assert.IsType<AbsoluteTiming>(protocol.Activities[0].Timing).Instants.ToArray());
    }

    [Theory]
    [InlineData("next Tuesday-ish")]
    [InlineData("P1M")]
    [InlineData("daily")]
    public void Unreadable_scheduled_string_is_listed_as_a_problem_at_its_path(string text)
    {
        var result = ProtocolDefinition.FromCarePlan(WithSchedule(text));

        Assert.False(result.Succeeded);
        var issue = Assert.Single(result.Outcome.Issue);
        Assert.Equal(["CarePlan.activity[0].detail.scheduledString"], issue.Expression);
        Assert.Contains(text, issue.Diagnostics, StringComparison.Ordinal);
    }

    [Fact]
    public void Care_plan_that_is_not_active_is_refused()
    {
        var carePlan = LoadCarePlan();
        carePlan.Status = RequestStatus.Draft;

        var result = ProtocolDefinition.FromCarePlan(carePlan);

        Assert.Equal(["CarePlan.status"], Assert.Single(result.Outcome.Issue).Expression);
    }

    [Fact]
    public void Activity_without_a_schedule_or_with_an_unsupported_kind_is_listed()
    {
        var carePlan = LoadCarePlan();
        carePlan.Activity[1].Detail!.Scheduled = null;
        carePlan.Activity[3].Detail!.Kind = CarePlan.CarePlanActivityKind.MedicationRequest;

        var result = ProtocolDefinition.FromCarePlan(carePlan);

        Assert.Equal(
            ["CarePlan.activity[1].detail.scheduled[x]", "CarePlan.activity[3].detail.kind"],
            result.Outcome.Issue.Select(i => Assert.Single(i.Expression)));
    }

    [Fact]
    public void Care_plan_protocol_starts_when_that_care_plan_is_active()
    {
        var carePlan = LoadCarePlan();
        var protocol = ProtocolDefinition.FromCarePlan(carePlan).GetProtocolOrThrow();

        Assert.Single(ProtocolMatcher.Match([protocol], carePlan, null));
        carePlan.Status = RequestStatus.OnHold;
        Assert.Empty(ProtocolMatcher.Match([protocol], carePlan, null));
    }
}
