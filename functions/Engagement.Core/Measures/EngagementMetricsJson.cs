using Engagement.Measures.AzureStorage;

namespace Engagement.Measures;

/// <summary>The dashboard's JSON (<c>GET /api/metrics/engagement</c>): the same figures as the MeasureReports, plus series.</summary>
public sealed record EngagementMetricsJson(
    string PeriodStart,
    string PeriodEnd,
    string? Protocol,
    DateTimeOffset GeneratedAt,
    IReadOnlyDictionary<string, long> Totals,
    IReadOnlyList<MeasureJson> Measures,
    IReadOnlyList<DailyJson> Daily,
    HistogramJson TimeToRespond,
    IReadOnlyList<FollowThroughJson> FollowThrough,
    IReadOnlyList<OpenEscalationJson> OpenEscalations,
    IReadOnlyList<ScoreTrendJson> ScoreTrends)
{
    public static EngagementMetricsJson From(MeasuresSnapshot snapshot, IReadOnlyList<ScoreTrendSummary> trends)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(trends);
        var (all, questionnaires) = snapshot.Whole;
        var totals = EngagementEventKinds.All.ToDictionary(k => k, all.Count, StringComparer.Ordinal);
        var measures = MeasuresSnapshot.MeasureCodes.Select(code =>
        {
            var f = MeasuresSnapshot.Compute(code, snapshot.Whole);
            var strata = MeasuresSnapshot.Dimensions.ToDictionary(d => d, d => (IReadOnlyList<StratumJson>)[.. snapshot.ValuesOf(d)
                .Select(value => (Value: value, F: MeasuresSnapshot.Compute(code, snapshot.Stratum(d, value))))
                .Where(s => s.F.InitialPopulation != 0 || s.F.Denominator != 0 || s.F.Numerator != 0)
                .Select(s => new StratumJson(s.Value, s.F.InitialPopulation, s.F.Denominator, s.F.Numerator, s.F.Score))], StringComparer.Ordinal);
            return new MeasureJson(code, f.InitialPopulation, f.Denominator, f.Numerator, f.Score, strata);
        }).ToList();
        var daily = snapshot.Daily().Select(d =>
        {
            var due = d.Population.Questionnaires.Count(EngagementEventKinds.ActivityDue);
            var responses = d.Population.Questionnaires.Count(EngagementEventKinds.ResponseReceived);
            return new DailyJson(d.Day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), due, responses,
                due == 0 ? null : Math.Round((double)responses / due, 4), d.Population.All.Count(EngagementEventKinds.MessageSent));
        }).ToList();
        var followThrough = snapshot.Protocols.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p =>
        {
            var f = MeasuresSnapshot.Compute("follow-through", MeasuresSnapshot.ProtocolTotal(p.Value));
            return new FollowThroughJson(p.Key, f.Denominator, f.Numerator, f.Score);
        }).Where(f => f.Due > 0).ToList();
        var open = snapshot.Open.OrderBy(o => o.RaisedAt).Select(o => new OpenEscalationJson(
            o.TaskId, o.Kind == EngagementEventKinds.RedFlagRaised ? "red-flag" : "escalation", o.Protocol, o.RaisedAt,
            Math.Round(Math.Max(0, (snapshot.Now - o.RaisedAt).TotalMinutes), 1))).ToList();
        var scoreTrends = trends.Select(t => new ScoreTrendJson(t.Protocol, t.Questionnaire, t.Patients, t.PatientsWithRepeat,
            t.PatientsWithRepeat == 0 ? null : Math.Round(t.ChangeSum / t.PatientsWithRepeat, 2), t.Improved, t.Worsened,
            [.. t.Sample.Select(p => new PatientScoreJson(p.PatientId, p.FirstScore, p.LastScore, p.Responses))])).ToList();
        return new EngagementMetricsJson(
            snapshot.Query.From.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            snapshot.Query.To.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            snapshot.Query.Protocol,
            snapshot.Now,
            totals,
            measures,
            daily,
            new HistogramJson(EngagementBucket.MinuteEdges, questionnaires.RespondMinutes,
                EngagementBucket.Quantile(questionnaires.RespondMinutes, 0.5), EngagementBucket.Quantile(questionnaires.RespondMinutes, 0.9)),
            followThrough,
            open,
            scoreTrends);
    }
}

public sealed record MeasureJson(string Code, long InitialPopulation, long Denominator, long Numerator, double? Score, IReadOnlyDictionary<string, IReadOnlyList<StratumJson>> Strata);

public sealed record StratumJson(string Value, long InitialPopulation, long Denominator, long Numerator, double? Score);

public sealed record DailyJson(string Day, long Requests, long Responses, double? ResponseRate, long MessagesSent);

/// <summary>Time to respond in minutes: counts per bin (<c>edges</c> are the bins' upper bounds; the last bin is open), median and 90th percentile.</summary>
public sealed record HistogramJson(IReadOnlyList<double> EdgesMinutes, IReadOnlyList<long> Counts, double? MedianMinutes, double? P90Minutes);

public sealed record FollowThroughJson(string Protocol, long Due, long OnTime, double? Rate);

public sealed record OpenEscalationJson(string TaskId, string Kind, string Protocol, DateTimeOffset RaisedAt, double AgeMinutes);

public sealed record ScoreTrendJson(string Protocol, string Questionnaire, int Patients, int PatientsWithRepeat, double? MeanChange, int Improved, int Worsened, IReadOnlyList<PatientScoreJson> PatientScores);

public sealed record PatientScoreJson(string Patient, double First, double Last, int Responses);
