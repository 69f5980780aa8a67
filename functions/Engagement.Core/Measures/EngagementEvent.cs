using System.Globalization;

namespace Engagement.Measures;

/// <summary>
/// One thing that happened in engagement, as the measures count it. <see cref="Id"/> is stable for the fact it
/// records (a message id, a response id, an instance and occurrence), so recording it twice counts it once.
/// Dimensions left null are filled from the follow-up run's cohort (<see cref="InstanceId"/>) when known.
/// No PHI: ids, coarse cohort values and numbers only.
/// </summary>
public sealed record EngagementEvent
{
    public required string Id { get; init; }

    /// <summary>One of <see cref="EngagementEventKinds"/>.</summary>
    public required string Kind { get; init; }

    public required DateTimeOffset OccurredAt { get; init; }

    /// <summary>The follow-up run (durable instance) the event belongs to, if any.</summary>
    public string? InstanceId { get; init; }

    /// <summary>The PlanDefinition id of the protocol.</summary>
    public string? Protocol { get; init; }

    /// <summary>The Questionnaire canonical (without version) for questionnaire activities.</summary>
    public string? Questionnaire { get; init; }

    public string? AgeBand { get; init; }

    public string? Language { get; init; }

    public string? Channel { get; init; }

    /// <summary>The patient, for score trends only (never logged).</summary>
    public string? PatientId { get; init; }

    /// <summary>Minutes: time to respond (response-received) or time to acknowledge (…-acknowledged).</summary>
    public double? Minutes { get; init; }

    /// <summary>The questionnaire's total score (response-received).</summary>
    public decimal? Score { get; init; }

    /// <summary>The care-team Task an escalation or red flag raised: acknowledged when its status leaves requested.</summary>
    public string? TaskId { get; init; }
}

/// <summary>The kinds of <see cref="EngagementEvent"/>; each is a counter of the aggregate buckets.</summary>
public static class EngagementEventKinds
{
    public const string MessageSent = "message-sent";
    public const string MessageDelivered = "message-delivered";
    public const string MessageFailed = "message-failed";
    public const string LinkOpened = "link-opened";
    public const string Engaged = "engaged";
    public const string ActivityDue = "activity-due";
    public const string ResponseReceived = "response-received";
    public const string CompletedOnTime = "completed-on-time";
    public const string ReminderSent = "reminder-sent";
    public const string EscalationRaised = "escalation-raised";
    public const string EscalationAcknowledged = "escalation-acknowledged";
    public const string RedFlagRaised = "red-flag-raised";
    public const string RedFlagAcknowledged = "red-flag-acknowledged";
    public const string OptOut = "opt-out";

    public static readonly IReadOnlyList<string> All =
    [
        MessageSent, MessageDelivered, MessageFailed, LinkOpened, Engaged, ActivityDue, ResponseReceived, CompletedOnTime,
        ReminderSent, EscalationRaised, EscalationAcknowledged, RedFlagRaised, RedFlagAcknowledged, OptOut,
    ];

    public static bool IsKnown(string kind) => All.Contains(kind, StringComparer.Ordinal);
}

/// <summary>Coarse cohort values (no PHI): age band from the birth date, language, channel.</summary>
public static class Cohorts
{
    public const string Unknown = "unknown";

    /// <summary>0-17, 18-39, 40-64, 65-79, 80+ at <paramref name="at"/>; unknown without a full birth date.</summary>
    public static string AgeBand(string? birthDate, DateTimeOffset at)
    {
        if (birthDate is null || !DateOnly.TryParseExact(birthDate, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var born))
        {
            if (birthDate is { Length: 4 } && int.TryParse(birthDate, NumberStyles.None, CultureInfo.InvariantCulture, out var year))
            {
                born = new DateOnly(year, 7, 1);
            }
            else
            {
                return Unknown;
            }
        }

        var today = DateOnly.FromDateTime(at.UtcDateTime);
        var age = today.Year - born.Year - (today < born.AddYears(today.Year - born.Year) ? 1 : 0);
        return age switch
        {
            < 0 => Unknown,
            < 18 => "0-17",
            < 40 => "18-39",
            < 65 => "40-64",
            < 80 => "65-79",
            _ => "80+",
        };
    }
}
