using System.Collections.Immutable;
using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml;
using Hl7.Fhir.Model;

namespace Engagement.FollowUp;

/// <summary>
/// Reads an EHR's CarePlan as a protocol: it starts when the CarePlan is active, its anchor is
/// <c>CarePlan.period.start</c> (else the event time), and its activities come from <c>activity.detail</c>.
/// </summary>
internal static partial class CarePlanReader
{
    public const string AnchorExpression = "%resource.period.start";
    public const string ActiveCondition = "%resource.status = 'active'";

    private static readonly CarePlan.CarePlanActivityStatus[] Open =
        [CarePlan.CarePlanActivityStatus.NotStarted, CarePlan.CarePlanActivityStatus.Scheduled, CarePlan.CarePlanActivityStatus.InProgress];

    public static ProtocolReadResult Read(CarePlan carePlan)
    {
        ArgumentNullException.ThrowIfNull(carePlan);
        var problems = new ProtocolProblems();
        if (string.IsNullOrWhiteSpace(carePlan.Id))
        {
            problems.Required("CarePlan.id", "The CarePlan needs an id.");
        }

        if (carePlan.Status != RequestStatus.Active)
        {
            problems.Error("CarePlan.status", $"Only an active CarePlan becomes a follow-up (status is '{carePlan.StatusElement?.JsonValue}').", OperationOutcome.IssueType.BusinessRule);
        }

        var activities = ImmutableArray.CreateBuilder<ProtocolActivity>();
        for (var i = 0; i < carePlan.Activity.Count; i++)
        {
            var detail = carePlan.Activity[i].Detail;
            var path = $"CarePlan.activity[{i}].detail";
            if (detail is null)
            {
                // Reference-only activities (activity.reference) are the EHR's own orders; nothing for us to schedule.
                continue;
            }

            if (detail.Status is { } status && !Open.Contains(status))
            {
                continue;
            }

            var timing = ReadTiming(detail, path, problems);
            var content = ReadContent(detail, path, problems);
            if (timing is not null && content is not null)
            {
                activities.Add(new ProtocolActivity
                {
                    Id = carePlan.Activity[i].ElementId ?? $"activity-{i}",
                    Title = detail.Description ?? detail.Code?.Text ?? detail.Code?.Coding.FirstOrDefault()?.Display ?? $"Activity {i + 1}",
                    Timing = timing,
                    Content = content,
                });
            }
        }

        if (carePlan.Activity.Count == 0)
        {
            problems.Required("CarePlan.activity", "The CarePlan has no activities.");
        }
        else if (activities.Count == 0 && !problems.HasErrors)
        {
            problems.Error("CarePlan.activity", "No open activity with a detail to schedule.", OperationOutcome.IssueType.BusinessRule);
        }

        return problems.Result(() => new ProtocolDefinition
        {
            Id = $"careplan-{carePlan.Id}",
            Url = $"CarePlan/{carePlan.Id}",
            Version = carePlan.Meta?.VersionId,
            Title = carePlan.Title,
            SourceType = "CarePlan",
            Triggers = [ProtocolTrigger.DataChanged("CarePlan", new FhirPathExpression(ActiveCondition))],
            Anchor = new FhirPathExpression(AnchorExpression),
            Activities = activities.ToImmutable(),
        });
    }

    private static ActivityContent? ReadContent(CarePlan.DetailComponent detail, string path, ProtocolProblems problems)
    {
        var questionnaire = detail.InstantiatesCanonical.FirstOrDefault(c => PlanDefinitionReader.ResourceTypeOf(c) == "Questionnaire");
        if (questionnaire is not null)
        {
            return new ActivityContent { QuestionnaireCanonical = questionnaire, Description = detail.Description };
        }

        var kind = detail.KindElement?.JsonValue as string;
        if (kind == "Questionnaire")
        {
            problems.Required($"{path}.instantiatesCanonical", "A Questionnaire activity names its Questionnaire in instantiatesCanonical.");
            return null;
        }

        if (kind is "Task" or "CommunicationRequest")
        {
            var code = detail.Code?.Coding.FirstOrDefault(c => c.System == ProtocolUrls.MessageCodeSystem)?.Code;
            if (code is null && string.IsNullOrWhiteSpace(detail.Description))
            {
                problems.Required($"{path}.description", "A Task activity needs a description or a code from the engagement-message code system.");
                return null;
            }

            return new ActivityContent { MessageTemplateCode = code, Description = detail.Description };
        }

        problems.NotSupported($"{path}.kind", $"Activity kind '{kind}' is not supported; use a Questionnaire (instantiatesCanonical) or Task.");
        return null;
    }

    private static ActivityTiming? ReadTiming(CarePlan.DetailComponent detail, string path, ProtocolProblems problems)
    {
        switch (detail.Scheduled)
        {
            case Timing timing:
                return ReadTimingElement(timing, $"{path}.scheduledTiming", problems);
            case Period period:
                if (period.StartElement is null || !FhirInstants.TryParse(period.Start, TimeZoneInfo.Utc, out var start) || !period.Start!.Contains('T', StringComparison.Ordinal))
                {
                    problems.Required($"{path}.scheduledPeriod.start", "scheduledPeriod needs a start dateTime with a time and zone.");
                    return null;
                }

                return new AbsoluteTiming([start]);
            case FhirString text:
                return ParseScheduledString(text.Value, $"{path}.scheduledString", problems);
            case null:
                problems.Required($"{path}.scheduled[x]", "The activity has no schedule (scheduledTiming, scheduledPeriod or scheduledString).");
                return null;
            default:
                problems.NotSupported($"{path}.scheduled[x]", $"scheduled{detail.Scheduled.TypeName} is not supported.");
                return null;
        }
    }

    private static ActivityTiming? ReadTimingElement(Timing timing, string path, ProtocolProblems problems)
    {
        if (timing.EventElement.Count > 0)
        {
            var instants = ImmutableArray.CreateBuilder<DateTimeOffset>();
            for (var e = 0; e < timing.EventElement.Count; e++)
            {
                var value = timing.EventElement[e].Value;
                if (value is null || !value.Contains('T', StringComparison.Ordinal) || !FhirInstants.TryParse(value, TimeZoneInfo.Utc, out var instant))
                {
                    problems.Error($"{path}.event[{e}]", "A scheduled event needs a dateTime with a time and zone.");
                    return null;
                }

                instants.Add(instant);
            }

            return new AbsoluteTiming(instants.ToImmutable());
        }

        if (timing.Repeat is null)
        {
            problems.Required(path, "scheduledTiming needs event[] or repeat.");
            return null;
        }

        return PlanDefinitionReader.ReadRecurrence(timing, path, problems);
    }

    /// <summary>
    /// Parses a free-text schedule: "day N" (N days after the anchor), an ISO-8601 duration (P2D, PT12H, P2W) as an
    /// offset, or an ISO-8601 dateTime with a zone as a fixed instant.
    /// </summary>
    internal static ActivityTiming? ParseScheduledString(string? text, string path, ProtocolProblems problems)
    {
        var value = text?.Trim() ?? string.Empty;
        var day = DayPattern().Match(value);
        if (day.Success)
        {
            return new OffsetTiming(ProtocolDuration.Days(int.Parse(day.Groups[1].Value, CultureInfo.InvariantCulture)));
        }

        if (value.StartsWith('P') && TryParseIsoDuration(value, out var offset))
        {
            return new OffsetTiming(offset);
        }

        if (value.Contains('T', StringComparison.Ordinal) && FhirInstants.TryParse(value, TimeZoneInfo.Utc, out var instant))
        {
            return new AbsoluteTiming([instant]);
        }

        problems.Error(path, $"'{value}' is not a schedule we can read: use 'day N', an ISO-8601 duration (P2D, PT12H) or a dateTime with a zone.");
        return null;
    }

    private static bool TryParseIsoDuration(string value, out ProtocolDuration duration)
    {
        duration = default;
        var weeks = WeeksPattern().Match(value);
        if (weeks.Success)
        {
            duration = new ProtocolDuration(int.Parse(weeks.Groups[1].Value, CultureInfo.InvariantCulture), ProtocolTimeUnit.Weeks);
            return true;
        }

        TimeSpan span;
        try
        {
            span = XmlConvert.ToTimeSpan(value);
        }
        catch (FormatException)
        {
            return false;
        }

        if (value.Contains('Y', StringComparison.Ordinal) || value.Split('T')[0].Contains('M', StringComparison.Ordinal))
        {
            return false; // years and months have no fixed length in days; not guessed.
        }

        duration = span.Ticks % TimeSpan.TicksPerDay == 0
            ? ProtocolDuration.Days((int)span.TotalDays)
            : span.Ticks % TimeSpan.TicksPerHour == 0
                ? ProtocolDuration.Hours((decimal)span.TotalHours)
                : new ProtocolDuration((decimal)span.TotalMinutes, ProtocolTimeUnit.Minutes);
        return true;
    }

    [GeneratedRegex(@"^day\s+(-?\d{1,4})$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex DayPattern();

    [GeneratedRegex(@"^P(\d{1,4})W$", RegexOptions.CultureInvariant)]
    private static partial Regex WeeksPattern();
}
