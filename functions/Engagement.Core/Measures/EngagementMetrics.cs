using Engagement.Fhir;
using Engagement.Measures.AzureStorage;

namespace Engagement.Measures;

/// <summary>The period and protocol a measures request is about (days, UTC, both inclusive).</summary>
public sealed record MeasuresQuery(DateOnly From, DateOnly To, string? Protocol);

/// <summary>
/// Reads the aggregates for a period and computes the engagement measures from them: the same figures for the FHIR
/// MeasureReports and the dashboard JSON. Before reading, open escalations and red flags are checked against their
/// care-team Task: one that left <c>requested</c>/<c>ready</c> is recorded as acknowledged (at the Task's lastUpdated).
/// </summary>
public sealed class EngagementMetrics(TableEngagementStore store, IFhirResourceStore fhir, TimeProvider time)
{
    public async Task<MeasuresSnapshot> ReadAsync(MeasuresQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var open = await ReconcileOpenItemsAsync(query.Protocol, cancellationToken);
        var rows = await store.ReadBucketsAsync(query.From, query.To, query.Protocol, cancellationToken);
        return new MeasuresSnapshot(query, rows, open, time.GetUtcNow());
    }

    public Task<IReadOnlyList<ScoreTrend>> ScoreTrendsAsync(string? protocol, CancellationToken cancellationToken) =>
        store.ScoreTrendsAsync(protocol, cancellationToken);

    private async Task<IReadOnlyList<OpenItem>> ReconcileOpenItemsAsync(string? protocol, CancellationToken cancellationToken)
    {
        var stillOpen = new List<OpenItem>();
        foreach (var item in await store.OpenItemsAsync(protocol, cancellationToken))
        {
            var stored = await fhir.GetAsync("Task", item.TaskId, cancellationToken);
            if (stored?.Resource is Hl7.Fhir.Model.Task task
                && task.Status is not (Hl7.Fhir.Model.Task.TaskStatus.Requested or Hl7.Fhir.Model.Task.TaskStatus.Ready or Hl7.Fhir.Model.Task.TaskStatus.Received))
            {
                var at = task.Meta?.LastUpdated ?? time.GetUtcNow();
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
                continue;
            }

            stillOpen.Add(item);
        }

        return stillOpen;
    }
}

/// <summary>One engagement measure computed from merged buckets.</summary>
public sealed record MeasureFigures(long InitialPopulation, long Denominator, long Numerator, double? Score);

/// <summary>The buckets of a period and what the measures make of them.</summary>
public sealed class MeasuresSnapshot(MeasuresQuery query, IReadOnlyList<BucketRow> rows, IReadOnlyList<OpenItem> open, DateTimeOffset now)
{
    /// <summary>Measure codes (CodeSystem engagement-measure) in report order.</summary>
    public static readonly IReadOnlyList<string> MeasureCodes =
    [
        "response-rate", "time-to-respond", "follow-through", "reminders-per-response", "messages-delivered", "opt-out-rate", "red-flag-acknowledgement-time",
    ];

    public static readonly IReadOnlyList<string> Dimensions = ["age-band", "language", "channel"];

    public MeasuresQuery Query { get; } = query;

    public IReadOnlyList<BucketRow> Rows { get; } = rows;

    public IReadOnlyList<OpenItem> Open { get; } = open;

    public DateTimeOffset Now { get; } = now;

    public static string DimensionOf(BucketRow row, string dimension) => dimension switch
    {
        "age-band" => row.AgeBand,
        "language" => row.Language,
        "channel" => row.Channel,
        "protocol" => row.Protocol,
        _ => throw new ArgumentOutOfRangeException(nameof(dimension)),
    };

    public static EngagementBucket Merge(IEnumerable<BucketRow> rows)
    {
        var total = new EngagementBucket();
        foreach (var row in rows)
        {
            total.Add(row.Bucket);
        }

        return total;
    }

    /// <summary>The figures of one measure over some rows (all, or one stratum).</summary>
    public static MeasureFigures Compute(string measure, IEnumerable<BucketRow> rows)
    {
        var list = rows as IReadOnlyCollection<BucketRow> ?? [.. rows];
        var all = Merge(list);
        var questionnaires = Merge(list.Where(r => r.Questionnaire != "-"));
        return measure switch
        {
            "response-rate" => Proportion(questionnaires.Count(EngagementEventKinds.ActivityDue), questionnaires.Count(EngagementEventKinds.ResponseReceived)),
            "follow-through" => Proportion(all.Count(EngagementEventKinds.ActivityDue), all.Count(EngagementEventKinds.CompletedOnTime)),
            "messages-delivered" => Proportion(all.Count(EngagementEventKinds.MessageSent), all.Count(EngagementEventKinds.MessageDelivered)),
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
