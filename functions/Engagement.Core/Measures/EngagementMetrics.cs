using Engagement.Fhir;
using Engagement.Measures.AzureStorage;

namespace Engagement.Measures;

/// <summary>The period and protocol a measures request is about (days, UTC, both inclusive).</summary>
public sealed record MeasuresQuery(DateOnly From, DateOnly To, string? Protocol);

/// <summary>
/// Reads the aggregates for a period and computes the engagement measures from them: the same figures for the FHIR
/// MeasureReports and the dashboard JSON. A few point reads per request whatever the number of events
/// (docs/adr/0005-measures-layout.md).
/// </summary>
public sealed class EngagementMetrics(TableEngagementStore store, TimeProvider time)
{
    /// <summary>The aggregates of the query's period; with <paramref name="open"/>, the escalations and red flags still open too (the dashboard).</summary>
    public async Task<MeasuresSnapshot> ReadAsync(MeasuresQuery query, bool open, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var openItems = open ? store.OpenItemsAsync(query.Protocol, cancellationToken) : Task.FromResult<IReadOnlyList<OpenItem>>([]);
        var protocols = await store.ReadAsync(query.From, query.To, query.Protocol, cancellationToken);
        return new MeasuresSnapshot(query, protocols, await openItems, time.GetUtcNow());
    }

    /// <summary>Score trends of the patients whose first score falls in the query's period (see <see cref="TableEngagementStore.ScoreTrendsAsync"/>).</summary>
    public Task<IReadOnlyList<ScoreTrendSummary>> ScoreTrendsAsync(MeasuresQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        return store.ScoreTrendsAsync(query.Protocol, query.From, query.To, cancellationToken);
    }
}

/// <summary>
/// Records a care-team Task's acknowledgement when it is stored out of <c>requested</c>/<c>ready</c>/<c>received</c>
/// (accepted, in-progress, completed…) while its escalation or red flag is open: minutes from raised to the Task's
/// <c>lastModified</c> (else <c>meta.lastUpdated</c>), under the item's protocol and cohort; the item leaves the open index. Idempotent (the event
/// id is <c>ack-{taskId}</c>). Only Task writes cost a lookup (one point read).
/// </summary>
public sealed class TaskAcknowledgementObserver(TableEngagementStore store, TimeProvider time) : IFhirResourceObserver
{
    public async Task StoredAsync(StoredResource stored, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (stored.Resource is not Hl7.Fhir.Model.Task { Id: { } taskId } task
            || task.Status is null or Hl7.Fhir.Model.Task.TaskStatus.Requested or Hl7.Fhir.Model.Task.TaskStatus.Ready or Hl7.Fhir.Model.Task.TaskStatus.Received or Hl7.Fhir.Model.Task.TaskStatus.Draft
            || await store.OpenItemAsync(taskId, cancellationToken) is not { } item)
        {
            return;
        }

        // When the clinician acted: the Task's lastModified (the EHR's, when the change came from there), else when we stored it.
        var at = task.LastModifiedElement?.ToDateTimeOffset(TimeSpan.Zero) ?? task.Meta?.LastUpdated ?? time.GetUtcNow();
        await store.RecordAsync(new EngagementEvent
        {
            Id = "ack-" + item.TaskId,
            Kind = item.Kind == EngagementEventKinds.RedFlagRaised ? EngagementEventKinds.RedFlagAcknowledged : EngagementEventKinds.EscalationAcknowledged,
            OccurredAt = at,
            InstanceId = item.InstanceId,
            Protocol = item.Protocol,
            AgeBand = item.AgeBand,
            Language = item.Language,
            Channel = item.Channel,
            Minutes = Math.Max(0, (at - item.RaisedAt).TotalMinutes),
            TaskId = item.TaskId,
        }, cancellationToken);
        await store.CloseAsync(item.TaskId, cancellationToken);
    }
}

/// <summary>One engagement measure computed from merged buckets.</summary>
public sealed record MeasureFigures(long InitialPopulation, long Denominator, long Numerator, double? Score);

/// <summary>The aggregates of a period, per protocol, and what the measures make of them.</summary>
public sealed class MeasuresSnapshot(MeasuresQuery query, IReadOnlyDictionary<string, EngagementAggregate> protocols, IReadOnlyList<OpenItem> open, DateTimeOffset now)
{
    /// <summary>Measure codes (CodeSystem engagement-measure) in report order.</summary>
    public static readonly IReadOnlyList<string> MeasureCodes =
    [
        "response-rate", "time-to-respond", "time-to-respond-p90", "follow-through", "reminders-per-response", "messages-delivered", "messages-failed",
        "links-opened", "opt-out-rate", "red-flag-acknowledgement-time",
    ];

    /// <summary>The measures scored as a continuous variable (a time), not a proportion or ratio.</summary>
    public static bool IsContinuous(string measure) => measure is "time-to-respond" or "time-to-respond-p90" or "red-flag-acknowledgement-time";

    public static readonly IReadOnlyList<string> Dimensions = EngagementAggregate.Dimensions;

    private readonly EngagementAggregate merged = Merge(protocols.Values);

    public MeasuresQuery Query { get; } = query;

    /// <summary>Per protocol (PlanDefinition id, or "-" for messages under none): margins over the period, and day totals keyed by <see cref="DateOnly.DayNumber"/>.</summary>
    public IReadOnlyDictionary<string, EngagementAggregate> Protocols { get; } = protocols;

    public IReadOnlyList<OpenItem> Open { get; } = open;

    public DateTimeOffset Now { get; } = now;

    /// <summary>Every activity and the questionnaire activities among them, over all protocols.</summary>
    public Population Whole => Of(merged, EngagementAggregate.Total, "");

    /// <summary>The values seen for a dimension, ordered.</summary>
    public IReadOnlyList<string> ValuesOf(string dimension) =>
        [.. merged.Margins.Keys.Where(k => k.Dimension == dimension).Select(k => k.Value).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    public Population Stratum(string dimension, string value) => Of(merged, dimension, value);

    public static Population ProtocolTotal(EngagementAggregate aggregate) => Of(aggregate, EngagementAggregate.Total, "");

    /// <summary>Day totals over all protocols, in day order.</summary>
    public IEnumerable<(DateOnly Day, Population Population)> Daily() =>
        merged.Days.Keys.Select(k => k.Day).Distinct().Order().Select(day =>
        {
            var questionnaires = merged.Days.GetValueOrDefault((day, true)) ?? new EngagementBucket();
            var all = new EngagementBucket();
            all.Add(questionnaires);
            if (merged.Days.GetValueOrDefault((day, false)) is { } other)
            {
                all.Add(other);
            }

            return (DateOnly.FromDayNumber(day), new Population(all, questionnaires));
        });

    private static Population Of(EngagementAggregate aggregate, string dimension, string value)
    {
        var questionnaires = aggregate.Margins.GetValueOrDefault(new MarginKey(true, dimension, value)) ?? new EngagementBucket();
        var all = new EngagementBucket();
        all.Add(questionnaires);
        if (aggregate.Margins.GetValueOrDefault(new MarginKey(false, dimension, value)) is { } other)
        {
            all.Add(other);
        }

        return new Population(all, questionnaires);
    }

    private static EngagementAggregate Merge(IEnumerable<EngagementAggregate> aggregates)
    {
        var total = new EngagementAggregate();
        foreach (var aggregate in aggregates)
        {
            total.Add(aggregate);
        }

        return total;
    }

    /// <summary>The figures of one measure over a population (the whole, a protocol, or one stratum).</summary>
    public static MeasureFigures Compute(string measure, Population population)
    {
        ArgumentNullException.ThrowIfNull(population);
        var (all, questionnaires) = population;
        return measure switch
        {
            "response-rate" => Proportion(questionnaires.Count(EngagementEventKinds.ActivityDue), questionnaires.Count(EngagementEventKinds.ResponseReceived)),
            "follow-through" => Proportion(all.Count(EngagementEventKinds.ActivityDue), all.Count(EngagementEventKinds.CompletedOnTime)),
            "messages-delivered" => Proportion(all.Count(EngagementEventKinds.MessageSent), all.Count(EngagementEventKinds.MessageDelivered)),
            "messages-failed" => Proportion(all.Count(EngagementEventKinds.MessageSent), all.Count(EngagementEventKinds.MessageFailed)),

            // Every questionnaire message carries a link of its own: the first one (activity due) and each reminder.
            "links-opened" => Proportion(
                questionnaires.Count(EngagementEventKinds.ActivityDue) + questionnaires.Count(EngagementEventKinds.ReminderSent),
                questionnaires.Count(EngagementEventKinds.LinkOpened)),
            "opt-out-rate" => Proportion(all.Count(EngagementEventKinds.Engaged), all.Count(EngagementEventKinds.OptOut)),
            "reminders-per-response" => new MeasureFigures(
                questionnaires.Count(EngagementEventKinds.ActivityDue),
                questionnaires.Count(EngagementEventKinds.ResponseReceived),
                questionnaires.Count(EngagementEventKinds.ReminderSent),
                Ratio(questionnaires.Count(EngagementEventKinds.ReminderSent), questionnaires.Count(EngagementEventKinds.ResponseReceived))),
            "time-to-respond" => new MeasureFigures(
                questionnaires.Count(EngagementEventKinds.ActivityDue),
                questionnaires.Count(EngagementEventKinds.ResponseReceived),
                0,
                EngagementBucket.Quantile(questionnaires.RespondMinutes, 0.5) is { } minutes ? minutes / 60 : null),
            "time-to-respond-p90" => new MeasureFigures(
                questionnaires.Count(EngagementEventKinds.ActivityDue),
                questionnaires.Count(EngagementEventKinds.ResponseReceived),
                0,
                EngagementBucket.Quantile(questionnaires.RespondMinutes, 0.9) is { } p90 ? p90 / 60 : null),
            "red-flag-acknowledgement-time" => new MeasureFigures(
                all.Count(EngagementEventKinds.RedFlagRaised),
                all.Count(EngagementEventKinds.RedFlagAcknowledged),
                0,
                EngagementBucket.Quantile(all.AcknowledgeMinutes, 0.5)),
            _ => throw new ArgumentOutOfRangeException(nameof(measure)),
        };
    }

    private static MeasureFigures Proportion(long denominator, long numerator) =>
        new(denominator, denominator, numerator, Ratio(numerator, denominator));

    private static double? Ratio(long numerator, long denominator) => denominator == 0 ? null : Math.Round((double)numerator / denominator, 4);
}

/// <summary>A population's counters: every activity, and the questionnaire activities among them.</summary>
public sealed record Population(EngagementBucket All, EngagementBucket Questionnaires);
