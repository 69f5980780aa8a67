using Engagement.FollowUp;
using Hl7.Fhir.Model;
using static Engagement.Core.Tests.FollowUp.FollowUpFixtures;

namespace Engagement.Core.Tests.FollowUp;

public class PlanDefinitionValidationTests
{
    private static ProtocolReadResult Read(PlanDefinitionBuilder builder) =>
        ProtocolDefinition.FromPlanDefinition(builder.Build(), ResolveShippedActivityDefinition);

    private static OperationOutcome.IssueComponent SingleError(ProtocolReadResult result)
    {
        Assert.False(result.Succeeded);
        Assert.Null(result.Protocol);
        return Assert.Single(result.Outcome.Issue, i => i.Severity == OperationOutcome.IssueSeverity.Error);
    }

    [Fact]
    public void Offset_in_an_unknown_unit_is_reported_at_its_timing_duration()
    {
        var builder = new PlanDefinitionBuilder();
        builder.Activity(2).Timing = new Duration { Value = 30, Code = "fortnight", System = "http://unitsofmeasure.org" };

        var issue = SingleError(Read(builder));

        Assert.Equal(["PlanDefinition.action[0].action[2].timingDuration"], issue.Expression);
        Assert.Contains("fortnight", issue.Diagnostics, StringComparison.Ordinal);
        Assert.Equal(OperationOutcome.IssueType.Invalid, issue.Code);
    }

    [Fact]
    public void Fractional_days_are_rejected_in_favour_of_hours()
    {
        var builder = new PlanDefinitionBuilder();
        builder.Activity(0).Timing = new Duration { Value = 1.5m, Code = "d", System = "http://unitsofmeasure.org" };

        var issue = SingleError(Read(builder));

        Assert.Equal(["PlanDefinition.action[0].action[0].timingDuration"], issue.Expression);
    }

    [Fact]
    public void Trigger_condition_that_does_not_compile_is_reported_with_the_parser_message()
    {
        var builder = new PlanDefinitionBuilder();
        builder.Root.Trigger[0].Condition!.Expression_ = "%resource.status = ";

        var issue = SingleError(Read(builder));

        Assert.Equal(["PlanDefinition.action[0].trigger[0].condition.expression"], issue.Expression);
        Assert.Contains("does not compile", issue.Diagnostics, StringComparison.Ordinal);
    }

    [Fact]
    public void Stop_when_that_does_not_compile_is_reported_at_its_expression()
    {
        var plan = ShippedPlan("depression-monitoring");
        Assert.IsType<Expression>(plan.Action[0].GetExtension(ProtocolUrls.StopWhen)?.Value).Expression_ = "%scores.last() <";

        var issue = SingleError(ProtocolDefinition.FromPlanDefinition(plan));

        Assert.Equal([$"PlanDefinition.action[0].extension('{ProtocolUrls.StopWhen}').value.expression"], issue.Expression);
    }

    [Fact]
    public void Every_problem_is_listed_not_only_the_first()
    {
        var builder = new PlanDefinitionBuilder().With(p => p.Url = null);
        builder.Root.Trigger.Clear();
        builder.Activity(1).ElementId = "checkin";
        builder.Activity(2).Definition = new Canonical($"{CanonicalBase}/ActivityDefinition/does-not-exist");
        builder.Activity(2).Timing = null;

        var result = Read(builder);

        Assert.False(result.Succeeded);
        Assert.Equal(
            [
                "PlanDefinition.url",
                "PlanDefinition.action[0].trigger",
                "PlanDefinition.action[0].action[1].id",
                "PlanDefinition.action[0].action[2].timing[x]",
                "PlanDefinition.action[0].action[2].definitionCanonical",
            ],
            result.Outcome.Issue.Select(i => Assert.Single(i.Expression)));
        Assert.All(result.Outcome.Issue, i => Assert.Equal(OperationOutcome.IssueSeverity.Error, i.Severity));
        Assert.Contains(result.Outcome.Issue, i => i.Code == OperationOutcome.IssueType.NotFound);
    }

    [Fact]
    public void Recurrence_without_count_or_bound_is_rejected_because_it_would_never_end()
    {
        var builder = new PlanDefinitionBuilder();
        builder.Activity(1).Timing = new Timing { Repeat = new Timing.RepeatComponent { Frequency = 1, Period = 14, PeriodUnit = Timing.UnitsOfTime.D } };

        var issue = SingleError(Read(builder));

        Assert.Equal(["PlanDefinition.action[0].action[1].timingTiming.repeat"], issue.Expression);
    }

    [Fact]
    public void Recurrence_more_than_once_per_period_is_not_supported()
    {
        var builder = new PlanDefinitionBuilder();
        builder.Activity(1).Timing = new Timing { Repeat = new Timing.RepeatComponent { Frequency = 2, Period = 1, PeriodUnit = Timing.UnitsOfTime.D, Count = 3 } };

        var issue = SingleError(Read(builder));

        Assert.Equal(["PlanDefinition.action[0].action[1].timingTiming.repeat.frequency"], issue.Expression);
        Assert.Equal(OperationOutcome.IssueType.NotSupported, issue.Code);
    }

    [Fact]
    public void Unknown_escalation_priority_is_reported_at_the_extension_value()
    {
        var builder = new PlanDefinitionBuilder();
        builder.Activity(0).GetExtension(ProtocolUrls.Escalation)!.SetExtension("priority", new Code("whenever"));

        var issue = SingleError(Read(builder));

        Assert.Equal([$"PlanDefinition.action[0].action[0].extension('{ProtocolUrls.Escalation}').extension('priority').value"], issue.Expression);
    }

    [Fact]
    public void Reminder_policy_with_reminders_but_no_interval_is_reported()
    {
        var builder = new PlanDefinitionBuilder();
        builder.Activity(1).GetExtension(ProtocolUrls.ReminderPolicy)!.RemoveExtension("interval");

        var issue = SingleError(Read(builder));

        Assert.Equal([$"PlanDefinition.action[0].action[1].extension('{ProtocolUrls.ReminderPolicy}').extension('interval').value"], issue.Expression);
    }

    [Fact]
    public void Anchor_in_another_expression_language_is_not_supported()
    {
        var builder = new PlanDefinitionBuilder();
        Assert.IsType<Expression>(builder.Root.GetExtension(ProtocolUrls.TimingAnchor)?.Value).Language = "text/cql";

        var issue = SingleError(Read(builder));

        Assert.Equal([$"PlanDefinition.action[0].extension('{ProtocolUrls.TimingAnchor}').value.language"], issue.Expression);
    }

    [Fact]
    public void Message_activity_whose_definition_is_not_a_communication_request_is_rejected()
    {
        var wrongKind = new ActivityDefinition { Url = $"{CanonicalBase}/ActivityDefinition/checkin", Kind = ActivityDefinition.RequestResourceType.Task };

        var result = ProtocolDefinition.FromPlanDefinition(new PlanDefinitionBuilder().Build(), _ => wrongKind);

        var issue = SingleError(result);
        Assert.Equal(["PlanDefinition.action[0].action[0].definitionCanonical"], issue.Expression);
        Assert.Contains("CommunicationRequest", issue.Diagnostics, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_without_a_root_action_says_so()
    {
        var result = ProtocolDefinition.FromPlanDefinition(new PlanDefinition { Id = "empty", Url = $"{CanonicalBase}/PlanDefinition/empty" });

        var issue = SingleError(result);
        Assert.Equal(["PlanDefinition.action"], issue.Expression);
        Assert.Throws<InvalidOperationException>(result.GetProtocolOrThrow);
    }

    [Fact]
    public void Periodic_trigger_is_not_supported()
    {
        var builder = new PlanDefinitionBuilder();
        builder.Root.Trigger[0].Type = TriggerDefinition.TriggerType.Periodic;

        var issue = SingleError(Read(builder));

        Assert.Equal(["PlanDefinition.action[0].trigger[0].type"], issue.Expression);
        Assert.Equal(OperationOutcome.IssueType.NotSupported, issue.Code);
    }

    [Fact]
    public void Retired_plan_still_reads_but_carries_a_warning()
    {
        var result = Read(new PlanDefinitionBuilder().With(p => p.Status = PublicationStatus.Retired));

        Assert.True(result.Succeeded);
        var issue = Assert.Single(result.Outcome.Issue);
        Assert.Equal(OperationOutcome.IssueSeverity.Warning, issue.Severity);
    }
}
