using System.Collections.Immutable;
using Hl7.Fhir.Model;

namespace Engagement.FollowUp;

/// <summary>Reads a protocol PlanDefinition as described in docs/fhir-conventions.md, listing every problem found.</summary>
internal sealed class PlanDefinitionReader
{
    private static readonly string[] Priorities = ["routine", "urgent", "asap", "stat"];

    private readonly ProtocolProblems problems = new();
    private readonly Func<string, ActivityDefinition?>? activityDefinitions;

    private PlanDefinitionReader(Func<string, ActivityDefinition?>? activityDefinitions) => this.activityDefinitions = activityDefinitions;

    public static ProtocolReadResult Read(PlanDefinition plan, Func<string, ActivityDefinition?>? activityDefinitions)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return new PlanDefinitionReader(activityDefinitions).ReadPlan(plan);
    }

    private ProtocolReadResult ReadPlan(PlanDefinition plan)
    {
        const string Path = "PlanDefinition";
        if (string.IsNullOrWhiteSpace(plan.Id))
        {
            problems.Required($"{Path}.id", "A protocol needs an id.");
        }

        if (string.IsNullOrWhiteSpace(plan.Url))
        {
            problems.Required($"{Path}.url", "A protocol needs a canonical url.");
        }

        if (plan.Status == PublicationStatus.Retired)
        {
            problems.Warning($"{Path}.status", "The protocol is retired; it will not start new follow-ups.");
        }

        if (plan.Action.Count == 0)
        {
            problems.Required($"{Path}.action", "action[0] must be the protocol's root action.");
            return problems.Result(() => throw new InvalidOperationException());
        }

        if (plan.Action.Count > 1)
        {
            problems.Warning($"{Path}.action", "Only action[0] (the root action) is read; further top-level actions are ignored.");
        }

        var root = plan.Action[0];
        var rootPath = $"{Path}.action[0]";
        var triggers = ReadTriggers(root, rootPath);
        var anchor = ReadExpressionExtension(root, rootPath, ProtocolUrls.TimingAnchor);
        var stopWhen = ReadExpressionExtension(root, rootPath, ProtocolUrls.StopWhen);
        var linkLifetime = ReadDurationExtension(root, rootPath, ProtocolUrls.LinkLifetime, positive: true) ?? ProtocolDefinition.DefaultLinkLifetime;
        var appointmentReply = ReadAppointmentReply(root, rootPath);
        var activities = ReadActivities(root, rootPath);

        return problems.Result(() => new ProtocolDefinition
        {
            Id = plan.Id!,
            Url = plan.Url,
            Version = plan.Version,
            Title = plan.Title,
            SourceType = "PlanDefinition",
            Triggers = triggers,
            Anchor = anchor,
            StopWhen = stopWhen,
            LinkLifetime = linkLifetime,
            AppointmentReply = appointmentReply,
            Activities = activities,
        });
    }

    private string ReadAppointmentReply(PlanDefinition.ActionComponent root, string rootPath)
    {
        if (root.GetExtension(ProtocolUrls.AppointmentReply) is not { } extension)
        {
            return AppointmentReplies.Task;
        }

        if (extension.Value is Code { Value: AppointmentReplies.Task or AppointmentReplies.UpdateAppointment } code)
        {
            return code.Value;
        }

        problems.Error($"{rootPath}.extension('{ProtocolUrls.AppointmentReply}').value",
            $"The value must be a valueCode: {AppointmentReplies.UpdateAppointment} or {AppointmentReplies.Task}.");
        return AppointmentReplies.Task;
    }

    private ImmutableArray<ProtocolTrigger> ReadTriggers(PlanDefinition.ActionComponent root, string rootPath)
    {
        if (root.Trigger.Count == 0)
        {
            problems.Required($"{rootPath}.trigger", "The root action needs at least one trigger (data-changed or named-event).");
        }

        var triggers = ImmutableArray.CreateBuilder<ProtocolTrigger>();
        for (var i = 0; i < root.Trigger.Count; i++)
        {
            var trigger = root.Trigger[i];
            var path = $"{rootPath}.trigger[{i}]";
            var condition = trigger.Condition is null ? null : ReadExpression(trigger.Condition, $"{path}.condition");
            switch (trigger.Type)
            {
                case TriggerDefinition.TriggerType.DataChanged:
                case TriggerDefinition.TriggerType.DataAdded:
                case TriggerDefinition.TriggerType.DataModified:
                    var resourceType = trigger.Data.FirstOrDefault()?.TypeElement?.JsonValue as string;
                    if (resourceType is null)
                    {
                        problems.Required($"{path}.data[0].type", "A data trigger names the resource type in data[0].type.");
                    }
                    else if (!ModelInfo.IsKnownResource(resourceType))
                    {
                        problems.Error($"{path}.data[0].type", $"'{resourceType}' is not an R4 resource type.");
                    }
                    else
                    {
                        triggers.Add(ProtocolTrigger.DataChanged(resourceType, condition));
                    }

                    break;
                case TriggerDefinition.TriggerType.NamedEvent:
                    if (string.IsNullOrWhiteSpace(trigger.Name))
                    {
                        problems.Required($"{path}.name", "A named-event trigger needs a name.");
                    }
                    else
                    {
                        triggers.Add(ProtocolTrigger.NamedEvent(trigger.Name, condition));
                    }

                    break;
                case null:
                    problems.Required($"{path}.type", "The trigger type is missing.");
                    break;
                default:
                    problems.NotSupported($"{path}.type", $"Trigger type '{trigger.TypeElement?.JsonValue}' is not supported; use data-changed or named-event.");
                    break;
            }
        }

        return triggers.ToImmutable();
    }

    private ImmutableArray<ProtocolActivity> ReadActivities(PlanDefinition.ActionComponent root, string rootPath)
    {
        if (root.Action.Count == 0)
        {
            problems.Required($"{rootPath}.action", "The root action needs at least one activity (action[0].action[]).");
        }

        var activities = ImmutableArray.CreateBuilder<ProtocolActivity>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < root.Action.Count; i++)
        {
            var action = root.Action[i];
            var path = $"{rootPath}.action[{i}]";
            if (string.IsNullOrWhiteSpace(action.ElementId))
            {
                problems.Required($"{path}.id", "Each activity needs a stable id.");
            }
            else if (!ids.Add(action.ElementId))
            {
                problems.Error($"{path}.id", $"Activity id '{action.ElementId}' is used twice.");
            }

            if (string.IsNullOrWhiteSpace(action.Title))
            {
                problems.Required($"{path}.title", "Each activity needs a title.");
            }

            var timing = ReadTiming(action, path);
            var content = ReadContent(action, path);
            var responseWindow = ReadDurationExtension(action, path, ProtocolUrls.ResponseWindow, positive: true) ?? ProtocolActivity.DefaultResponseWindow;
            var reminders = ReadReminderPolicy(action, path);
            var escalation = ReadEscalation(action, path);
            if (timing is not null && content is not null && action.ElementId is { } id)
            {
                activities.Add(new ProtocolActivity
                {
                    Id = id,
                    Title = action.Title ?? id,
                    Timing = timing,
                    Content = content,
                    ResponseWindow = responseWindow,
                    Reminders = reminders,
                    Escalation = escalation,
                });
            }
        }

        return activities.ToImmutable();
    }

    private ActivityTiming? ReadTiming(PlanDefinition.ActionComponent action, string path)
    {
        switch (action.Timing)
        {
            case Duration duration:
                if (!ProtocolDuration.TryFrom(duration, out var offset, out var problem))
                {
                    problems.Error($"{path}.timingDuration", $"The offset from the anchor is not usable: {problem}.");
                    return null;
                }

                return new OffsetTiming(offset);
            case Timing timing:
                return ReadRecurrence(timing, $"{path}.timingTiming", problems);
            case null:
                problems.Required($"{path}.timing[x]", "An activity needs timingDuration (offset from the anchor) or timingTiming (recurrence).");
                return null;
            default:
                problems.NotSupported($"{path}.timing[x]", $"timing{action.Timing.TypeName} is not supported; use timingDuration or timingTiming.");
                return null;
        }
    }

    /// <summary>A recurrence (frequency 1, period, count or boundsDuration); shared with CarePlan's scheduledTiming.</summary>
    internal static RecurringTiming? ReadRecurrence(Timing timing, string path, ProtocolProblems problems)
    {
        var repeat = timing.Repeat;
        if (repeat is null)
        {
            problems.Required($"{path}.repeat", "A recurring activity needs timingTiming.repeat.");
            return null;
        }

        var ok = true;
        if (repeat.Frequency is { } frequency && frequency != 1)
        {
            problems.NotSupported($"{path}.repeat.frequency", "Only frequency 1 (one occurrence per period) is supported.");
            ok = false;
        }

        ProtocolDuration period = default;
        if (repeat.Period is not { } value || value <= 0)
        {
            problems.Required($"{path}.repeat.period", "A positive period is required.");
            ok = false;
        }
        else if (ProtocolDuration.UnitFromTiming(repeat.PeriodUnit) is not { } unit)
        {
            problems.Error($"{path}.repeat.periodUnit", "periodUnit must be one of min, h, d, wk, mo.");
            ok = false;
        }
        else if (!ProtocolDuration.TryCreate(value, unit, out period, out var problem))
        {
            problems.Error($"{path}.repeat.period", problem!);
            ok = false;
        }

        ProtocolDuration? bound = null;
        if (repeat.Bounds is Duration boundsDuration)
        {
            if (ProtocolDuration.TryFrom(boundsDuration, out var b, out var problem) && b.IsPositive)
            {
                bound = b;
            }
            else
            {
                problems.Error($"{path}.repeat.boundsDuration", $"The bound is not usable: {problem ?? "it must be positive"}.");
                ok = false;
            }
        }
        else if (repeat.Bounds is not null)
        {
            problems.NotSupported($"{path}.repeat.bounds[x]", "Only boundsDuration is supported for a recurrence.");
            ok = false;
        }

        if (repeat.Count is { } count && count < 1)
        {
            problems.Error($"{path}.repeat.count", "count must be at least 1.");
            ok = false;
        }

        if (repeat.Count is null && bound is null && ok)
        {
            problems.Required($"{path}.repeat", "A recurrence needs count or boundsDuration, or it would never end.");
            ok = false;
        }

        return ok ? new RecurringTiming(period, repeat.Count, bound) : null;
    }

    private ActivityContent? ReadContent(PlanDefinition.ActionComponent action, string path)
    {
        var contentPath = $"{path}.definitionCanonical";
        if (action.Definition is not Canonical { Value: { Length: > 0 } canonical })
        {
            problems.Required($"{path}.definition[x]", "An activity needs definitionCanonical: a Questionnaire or an ActivityDefinition.");
            return null;
        }

        // A message activity may also carry a Questionnaire to fill in (a RelatedArtifact depends-on in documentation).
        var linkedQuestionnaire = action.Documentation
            .FirstOrDefault(d => d.Type == RelatedArtifact.RelatedArtifactType.DependsOn && ResourceTypeOf(d.Resource) == "Questionnaire")?.Resource;

        switch (ResourceTypeOf(canonical))
        {
            case "Questionnaire":
                return new ActivityContent { QuestionnaireCanonical = canonical, Description = action.Description };
            case "ActivityDefinition":
                var code = ReadMessageCode(canonical, contentPath);
                return code is { Length: 0 }
                    ? null
                    : new ActivityContent
                    {
                        ActivityDefinitionCanonical = canonical,
                        MessageTemplateCode = code,
                        QuestionnaireCanonical = linkedQuestionnaire,
                        Description = action.Description,
                    };
            default:
                problems.Error(contentPath, $"'{canonical}' is neither a Questionnaire nor an ActivityDefinition canonical.");
                return null;
        }
    }

    /// <summary>The message template code, <c>null</c> when no resolver was given, empty when the definition is unusable.</summary>
    private string? ReadMessageCode(string canonical, string path)
    {
        if (activityDefinitions is null)
        {
            return null;
        }

        var definition = activityDefinitions(canonical);
        if (definition is null)
        {
            problems.Error(path, $"ActivityDefinition '{canonical}' is unknown.", OperationOutcome.IssueType.NotFound);
            return string.Empty;
        }

        if (definition.Kind != ActivityDefinition.RequestResourceType.CommunicationRequest)
        {
            problems.Error(path, $"ActivityDefinition '{canonical}' must have kind CommunicationRequest.");
            return string.Empty;
        }

        var code = definition.Code?.Coding.FirstOrDefault(c => c.System == ProtocolUrls.MessageCodeSystem)?.Code;
        if (code is null)
        {
            problems.Error(path, $"ActivityDefinition '{canonical}' must have a code from {ProtocolUrls.MessageCodeSystem} naming the message template.");
            return string.Empty;
        }

        return code;
    }

    private ReminderPolicy ReadReminderPolicy(PlanDefinition.ActionComponent action, string path)
    {
        var extension = action.GetExtension(ProtocolUrls.ReminderPolicy);
        if (extension is null)
        {
            return ReminderPolicy.None;
        }

        var extPath = $"{path}.extension('{ProtocolUrls.ReminderPolicy}')";
        var count = (extension.GetExtensionValue<Integer>("count"))?.Value;
        if (count is null or < 0)
        {
            problems.Error($"{extPath}.extension('count').value", "The reminder count must be an integer of 0 or more.");
            return ReminderPolicy.None;
        }

        if (count == 0)
        {
            return ReminderPolicy.None;
        }

        if (!ProtocolDuration.TryFrom(extension.GetExtensionValue<Duration>("interval"), out var interval, out var problem) || !interval.IsPositive)
        {
            problems.Error($"{extPath}.extension('interval').value", $"The reminder interval is not usable: {problem ?? "it must be positive"}.");
            return ReminderPolicy.None;
        }

        return new ReminderPolicy(count.Value, interval);
    }

    private EscalationPolicy? ReadEscalation(PlanDefinition.ActionComponent action, string path)
    {
        var extension = action.GetExtension(ProtocolUrls.Escalation);
        if (extension is null)
        {
            return null;
        }

        var priority = extension.GetExtensionValue<Code>("priority")?.Value;
        if (priority is null || !Priorities.Contains(priority))
        {
            problems.Error($"{path}.extension('{ProtocolUrls.Escalation}').extension('priority').value", "The escalation priority must be routine, urgent, asap or stat.");
            return null;
        }

        return new EscalationPolicy(priority, extension.GetExtensionValue<FhirString>("reason")?.Value);
    }

    private FhirPathExpression? ReadExpressionExtension(PlanDefinition.ActionComponent action, string path, string url)
    {
        var extension = action.GetExtension(url);
        if (extension is null)
        {
            return null;
        }

        var extPath = $"{path}.extension('{url}').value";
        if (extension.Value is not Expression expression)
        {
            problems.Error(extPath, "The value must be a valueExpression.");
            return null;
        }

        return ReadExpression(expression, extPath);
    }

    private FhirPathExpression? ReadExpression(Expression expression, string path)
    {
        if (expression.Language != ProtocolUrls.FhirPathLanguage)
        {
            problems.NotSupported($"{path}.language", $"Expression language '{expression.Language}' is not supported; use text/fhirpath.");
            return null;
        }

        if (string.IsNullOrWhiteSpace(expression.Expression_))
        {
            problems.Required($"{path}.expression", "The FHIRPath expression is empty.");
            return null;
        }

        var compiled = FhirPathExpression.TryCompile(expression.Expression_, out var error);
        if (compiled is null)
        {
            problems.Error($"{path}.expression", $"The FHIRPath expression does not compile: {error}");
        }

        return compiled;
    }

    private ProtocolDuration? ReadDurationExtension(PlanDefinition.ActionComponent action, string path, string url, bool positive)
    {
        var extension = action.GetExtension(url);
        if (extension is null)
        {
            return null;
        }

        if (!ProtocolDuration.TryFrom(extension.Value as Duration, out var duration, out var problem) || (positive && !duration.IsPositive))
        {
            problems.Error($"{path}.extension('{url}').value", $"A positive valueDuration is required: {problem ?? "it is not positive"}.");
            return null;
        }

        return duration;
    }

    /// <summary>The resource type of a canonical such as <c>{base}/Questionnaire/phq-9|1.0</c>.</summary>
    internal static string? ResourceTypeOf(string? canonical)
    {
        if (string.IsNullOrEmpty(canonical))
        {
            return null;
        }

        var url = canonical.Split('|')[0].TrimEnd('/');
        var segments = url.Split('/');
        return segments.Length >= 2 ? segments[^2] : null;
    }
}
