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
    public static EngagementMetricsJson From(MeasuresSnapshot snapshot, IReadOnlyList<ScoreTrend> trends)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(trends);
        var all = MeasuresSnapshot.Merge(snapshot.Rows);
        var questionnaires = MeasuresSnapshot.Merge(snapshot.Rows.Where(r => r.Questionnaire != "-"));
        var totals = EngagementEventKinds.All.ToDictionary(k => k, all.Count, StringComparer.Ordinal);
        var measures = MeasuresSnapshot.MeasureCodes.Select(code =>
        {
            var f = MeasuresSnapshot.Compute(code, snapshot.Rows);
            var strata = MeasuresSnapshot.Dimensions.ToDictionary(d => d, d => (IReadOnlyList<StratumJson>)[.. snapshot.Rows
                .GroupBy(r => MeasuresSnapshot.DimensionOf(r, d)).OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => (g.Key, F: MeasuresSnapshot.Compute(code, g)))
                .Where(s => s.F.InitialPopulation != 0 || s.F.Denominator != 0 || s.F.Numerator != 0)
                .Select(s => new StratumJson(s.Key, s.F.InitialPopulation, s.F.Denominator, s.F.Numerator, s.F.Score))], StringComparer.Ordinal);
            return new MeasureJson(code, f.InitialPopulation, f.Denominator, f.Numerator, f.Score, strata);
        }).ToList();
        var daily = snapshot.Rows.GroupBy(r => r.Day).OrderBy(g => g.Key).Select(g =>
        {
            var q = MeasuresSnapshot.Merge(g.Where(r => r.Questionnaire != "-"));
            var due = q.Count(EngagementEventKinds.ActivityDue);
            var responses = q.Count(EngagementEventKinds.ResponseReceived);
            return new DailyJson(g.Key.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), due, responses,
                due == 0 ? null : Math.Round((double)responses / due, 4), MeasuresSnapshot.Merge(g).Count(EngagementEventKinds.MessageSent));
        }).ToList();
        var followThrough = snapshot.Rows.GroupBy(r => r.Protocol).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
        {
            var f = MeasuresSnapshot.Compute("follow-through", g);
            return new FollowThroughJson(g.Key, f.Denominator, f.Numerator, f.Score);
        }).Where(f => f.Due > 0).ToList();
        var open = snapshot.Open.OrderBy(o => o.RaisedAt).Select(o => new OpenEscalationJson(
            o.TaskId, o.Kind == EngagementEventKinds.RedFlagRaised ? "red-flag" : "escalation", o.Protocol, o.RaisedAt,
            Math.Round(Math.Max(0, (snapshot.Now - o.RaisedAt).TotalMinutes), 1))).ToList();
        var scoreTrends = trends.GroupBy(t => (t.Protocol, t.Questionnaire)).OrderBy(g => g.Key.Questionnaire, StringComparer.Ordinal).Select(g =>
        {
            var repeated = g.Where(t => t.Responses > 1).ToList();
            return new ScoreTrendJson(g.Key.Protocol, g.Key.Questionnaire, g.Count(), repeated.Count,
                repeated.Count == 0 ? null : Math.Round(repeated.Average(t => t.LastScore - t.FirstScore), 2),
                repeated.Count(t => t.LastScore < t.FirstScore), repeated.Count(t => t.LastScore > t.FirstScore),
                [.. g.OrderBy(t => t.FirstAt).Take(200).Select(t => new PatientScoreJson(t.PatientId, t.FirstScore, t.LastScore, t.Responses))]);
        }).ToList();
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
