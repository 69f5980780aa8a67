using Engagement.FollowUp;
using Hl7.Fhir.Model;
using static Engagement.Core.Tests.FollowUp.FollowUpFixtures;

namespace Engagement.Core.Tests.FollowUp;

public class ShippedProtocolTests
{
    public static TheoryData<string> ShippedPlanIds => new() { "post-discharge", "depression-monitoring", "appointment-reminder" };

    [Theory]
    [MemberData(nameof(ShippedPlanIds))]
    public void Shipped_plan_definition_reads_without_any_issue(string id)
    {
        var result = ProtocolDefinition.FromPlanDefinition(ShippedPlan(id), ResolveShippedActivityDefinition);

        Assert.True(result.Succeeded);
        Assert.Empty(result.Outcome.Issue);
        Assert.Equal(id, result.Protocol!.Id);
        Assert.Equal($"{CanonicalBase}/PlanDefinition/{id}", result.Protocol.Url);
        Assert.Equal("1.0.0", result.Protocol.Version);
    }

    [Fact]
    public void Every_profile_file_is_named_after_its_type_and_id_and_has_the_canonical_url()
    {
        // package.json is the FHIR package manifest, not a resource.
        var files = Directory.GetFiles(ProfilesDirectory, "*.json").Where(f => Path.GetFileName(f) != "package.json").ToArray();
        Assert.Contains(files, f => Path.GetFileName(f) == "ActivityDefinition-checkin.json");
        foreach (var file in files)
        {
            var resource = Parse<Resource>(File.ReadAllText(file));
            Assert.Equal($"{resource.TypeName}-{resource.Id}.json", Path.GetFileName(file));
            if (resource is IVersionableConformanceResource conformance)
            {
                Assert.Equal($"{CanonicalBase}/{resource.TypeName}/{resource.Id}", conformance.Url);
            }
        }
    }

    [Fact]
    public void Post_discharge_starts_on_a_finished_inpatient_encounter_anchored_at_its_end()
    {
        var protocol = ShippedProtocol("post-discharge");

        var trigger = Assert.Single(protocol.Triggers);
        Assert.Equal(ProtocolTriggerKind.DataChanged, trigger.Kind);
        Assert.Equal("Encounter", trigger.Name);
        Assert.Equal("%resource.status = 'finished' and %resource.class.code = 'IMP'", trigger.Condition!.Text);
        Assert.Equal("%resource.period.end", protocol.Anchor!.Text);
        Assert.Null(protocol.StopWhen);
        Assert.Equal(ProtocolDuration.Days(7), protocol.LinkLifetime);
    }

    [Fact]
    public void Post_discharge_checks_in_on_day_2_then_sends_phq9_on_days_7_and_30()
    {
        var protocol = ShippedProtocol("post-discharge");

        Assert.Equal(["checkin", "phq-9-day-7", "phq-9-day-30"], protocol.Activities.Select(a => a.Id));
        Assert.Equal(
            [ProtocolDuration.Days(2), ProtocolDuration.Days(7), ProtocolDuration.Days(30)],
            protocol.Activities.Select(a => Assert.IsType<OffsetTiming>(a.Timing).Offset));

        var checkin = protocol.Activities[0].Content;
        Assert.Equal("checkin", checkin.MessageTemplateCode);
        Assert.Equal($"{CanonicalBase}/ActivityDefinition/checkin", checkin.ActivityDefinitionCanonical);
        Assert.Equal($"{CanonicalBase}/Questionnaire/post-discharge-checkin", checkin.QuestionnaireCanonical);

        Assert.All(protocol.Activities.Skip(1), a =>
        {
            Assert.Equal($"{CanonicalBase}/Questionnaire/phq-9", a.Content.QuestionnaireCanonical);
            Assert.Null(a.Content.MessageTemplateCode);
        });
    }

    [Fact]
    public void Post_discharge_waits_a_day_reminds_twice_a_day_apart_and_escalates_checkin_urgently()
    {
        var protocol = ShippedProtocol("post-discharge");

        Assert.All(protocol.Activities, a =>
        {
            Assert.Equal(ProtocolDuration.Days(1), a.ResponseWindow);
            Assert.Equal(new ReminderPolicy(2, ProtocolDuration.Days(1)), a.Reminders);
            Assert.False(string.IsNullOrWhiteSpace(a.Escalation!.Reason));
        });
        Assert.Equal(["urgent", "routine", "routine"], protocol.Activities.Select(a => a.Escalation!.Priority));
    }

    [Fact]
    public void Depression_monitoring_repeats_phq9_every_14_days_for_3_months()
    {
        var protocol = ShippedProtocol("depression-monitoring");

        var activity = Assert.Single(protocol.Activities);
        Assert.Equal($"{CanonicalBase}/Questionnaire/phq-9", activity.Content.QuestionnaireCanonical);
        var timing = Assert.IsType<RecurringTiming>(activity.Timing);
        Assert.Equal(ProtocolDuration.Days(14), timing.Period);
        Assert.Null(timing.Count);
        Assert.Equal(new ProtocolDuration(3, ProtocolTimeUnit.Months), timing.Bound);
    }

    [Theory]
    [InlineData(new[] { 6.0, 4.0, 3.0 }, true)]
    [InlineData(new[] { 4.0, 3.0 }, true)]
    [InlineData(new[] { 3.0, 6.0, 4.0 }, false)]
    [InlineData(new[] { 4.0 }, false)]
    [InlineData(new double[0], false)]
    [InlineData(new[] { 4.0, 5.0 }, false)]
    public void Depression_monitoring_stops_after_two_consecutive_totals_below_5(double[] scores, bool stops)
    {
        var protocol = ShippedProtocol("depression-monitoring");

        Assert.Equal(stops, protocol.ShouldStop(scores.Select(s => (decimal)s)));
    }

    [Fact]
    public void Appointment_reminder_starts_on_booked_appointment_or_named_event_and_reminds_3_and_1_days_before()
    {
        var protocol = ShippedProtocol("appointment-reminder");

        Assert.Equal(
            [(ProtocolTriggerKind.DataChanged, "Appointment"), (ProtocolTriggerKind.NamedEvent, "appointment-booked")],
            protocol.Triggers.Select(t => (t.Kind, t.Name)));
        Assert.Equal("%resource.start", protocol.Anchor!.Text);
        Assert.Equal(
            [ProtocolDuration.Days(-3), ProtocolDuration.Days(-1)],
            protocol.Activities.Select(a => Assert.IsType<OffsetTiming>(a.Timing).Offset));
        Assert.All(protocol.Activities, a => Assert.Equal("appointment-reminder", a.Content.MessageTemplateCode));
        Assert.All(protocol.Activities, a => Assert.Contains("confirm", a.Content.Description, StringComparison.Ordinal));
    }

    [Fact]
    public void Protocol_read_without_an_activity_definition_resolver_keeps_the_canonical_but_no_template_code()
    {
        var protocol = ProtocolDefinition.FromPlanDefinition(ShippedPlan("appointment-reminder")).GetProtocolOrThrow();

        Assert.All(protocol.Activities, a =>
        {
            Assert.Equal($"{CanonicalBase}/ActivityDefinition/appointment-reminder", a.Content.ActivityDefinitionCanonical);
            Assert.Null(a.Content.MessageTemplateCode);
        });
    }
}
