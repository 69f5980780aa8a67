using Engagement.Measures.AzureStorage;
using Hl7.Fhir.Model;

namespace Engagement.Measures;

/// <summary>
/// The <c>$engagement</c> answer: one summary MeasureReport of the <c>engagement-summary</c> Measure (R4
/// <c>MeasureReport.measure</c> is a single canonical; that Measure is composed of the eight engagement Measures), with
/// one group per engagement measure (the group code from CodeSystem <c>engagement-measure</c>): its populations,
/// measureScore and strata per age band, language, channel and Questionnaire.
/// </summary>
public static class MeasureReportBuilder
{
    public const string Base = "http://engagement-functions.org/fhir";
    public const string MeasureCodeSystem = Base + "/CodeSystem/engagement-measure";
    private const string PopulationSystem = "http://terminology.hl7.org/CodeSystem/measure-population";

    public const string ScoreChange = "score-change";

    /// <summary>The Measure the report is of: composed of one group per engagement measure.</summary>
    public const string SummaryMeasure = Base + "/Measure/engagement-summary";

    public static MeasureReport Build(MeasuresSnapshot snapshot, IReadOnlyList<ScoreTrendSummary> trends, string measureVersion = "0.1.0")
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(trends);
        var report = new MeasureReport
        {
            Meta = new Meta { Profile = [Base + "/StructureDefinition/engagement-measurereport"] },
            Status = MeasureReport.MeasureReportStatus.Complete,
            Type = MeasureReport.MeasureReportType.Summary,
            Measure = $"{SummaryMeasure}|{measureVersion}",
            DateElement = new FhirDateTime(snapshot.Now),
            Period = new Period(new FhirDateTime(snapshot.Query.From.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)),
                new FhirDateTime(snapshot.Query.To.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture))),
            Group = [.. MeasuresSnapshot.MeasureCodes.Select(code => Group(snapshot, code)), ScoreChangeGroup(trends)],
        };
        if (snapshot.Query.Protocol is { } protocol)
        {
            report.EvaluatedResource.Add(new ResourceReference("PlanDefinition/" + protocol));
        }

        return report;
    }

    /// <summary>One engagement measure's group: populations, score, and strata per age band, language, channel and Questionnaire.</summary>
    public static MeasureReport.GroupComponent Group(MeasuresSnapshot snapshot, string code)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var continuous = MeasuresSnapshot.IsContinuous(code);
        var figures = MeasuresSnapshot.Compute(code, snapshot.Whole);
        var group = new MeasureReport.GroupComponent
        {
            Code = new CodeableConcept(MeasureCodeSystem, code),
            Population = Populations(figures, continuous),
            MeasureScore = Score(figures, code),
        };
        foreach (var dimension in MeasuresSnapshot.Dimensions)
        {
            var stratifier = new MeasureReport.StratifierComponent { Code = [new CodeableConcept(MeasureCodeSystem, dimension) { Text = dimension }] };
            foreach (var value in snapshot.ValuesOf(dimension))
            {
                var f = MeasuresSnapshot.Compute(code, snapshot.Stratum(dimension, value));
                if (f.InitialPopulation == 0 && f.Denominator == 0 && f.Numerator == 0)
                {
                    continue;
                }

                stratifier.Stratum.Add(new MeasureReport.StratifierGroupComponent
                {
                    Value = new CodeableConcept { Text = value },
                    Population = [.. Populations(f, continuous).Select(p => new MeasureReport.StratifierGroupPopulationComponent { Code = p.Code, Count = p.Count })],
                    MeasureScore = Score(f, code),
                });
            }

            group.Stratifier.Add(stratifier);
        }

        return group;
    }

    /// <summary>
    /// Score change (continuous variable): the patients whose first score on a scored Questionnaire falls in the
    /// period (initial population), those with a later score (measure population), and the mean change from the first
    /// score to the latest, in score points, per Questionnaire (stratifier <c>questionnaire</c>). The group's own score
    /// is given only when one Questionnaire contributes: a mean over different instruments would mean nothing.
    /// </summary>
    public static MeasureReport.GroupComponent ScoreChangeGroup(IReadOnlyList<ScoreTrendSummary> trends)
    {
        ArgumentNullException.ThrowIfNull(trends);
        var perQuestionnaire = trends.GroupBy(t => t.Questionnaire, StringComparer.Ordinal)
            .Select(g => ScoreTrendSummary.Merge("", g.Key, g, 0))
            .OrderBy(t => t.Questionnaire, StringComparer.Ordinal)
            .ToList();
        var whole = ScoreTrendSummary.Merge("", "", perQuestionnaire, 0);
        var group = new MeasureReport.GroupComponent
        {
            Code = new CodeableConcept(MeasureCodeSystem, ScoreChange),
            Population = [Population("initial-population", whole.Patients), Population("measure-population", whole.PatientsWithRepeat)],
            MeasureScore = perQuestionnaire.Count == 1 ? MeanChange(whole) : null,
        };
        var stratifier = new MeasureReport.StratifierComponent { Code = [new CodeableConcept(MeasureCodeSystem, "questionnaire") { Text = "questionnaire" }] };
        foreach (var t in perQuestionnaire)
        {
            stratifier.Stratum.Add(new MeasureReport.StratifierGroupComponent
            {
                Value = new CodeableConcept { Text = t.Questionnaire },
                Population =
                [
                    new() { Code = new CodeableConcept(PopulationSystem, "initial-population"), Count = t.Patients },
                    new() { Code = new CodeableConcept(PopulationSystem, "measure-population"), Count = t.PatientsWithRepeat },
                ],
                MeasureScore = MeanChange(t),
            });
        }

        group.Stratifier.Add(stratifier);
        return group;
    }

    private static Quantity? MeanChange(ScoreTrendSummary t) => t.PatientsWithRepeat == 0
        ? null
        : new Quantity { Value = Math.Round((decimal)t.ChangeSum / t.PatientsWithRepeat, 2), Unit = "score points", System = "http://unitsofmeasure.org", Code = "{score}" };

    private static List<MeasureReport.PopulationComponent> Populations(MeasureFigures f, bool continuous) => continuous
        ?
        [
            Population("initial-population", f.InitialPopulation),
            Population("measure-population", f.Denominator),
        ]
        :
        [
            Population("initial-population", f.InitialPopulation),
            Population("denominator", f.Denominator),
            Population("numerator", f.Numerator),
        ];

    private static MeasureReport.PopulationComponent Population(string code, long count) => new()
    {
        Code = new CodeableConcept(PopulationSystem, code),
        Count = checked((int)count),
    };

    private static Quantity? Score(MeasureFigures f, string code) => f.Score is not { } score ? null : code switch
    {
        "time-to-respond" or "time-to-respond-p90" => new Quantity((decimal)score, "h") { Unit = "h", System = "http://unitsofmeasure.org" },
        "red-flag-acknowledgement-time" => new Quantity((decimal)score, "min") { Unit = "min", System = "http://unitsofmeasure.org" },
        "reminders-per-response" => new Quantity { Value = (decimal)score, Unit = "reminders per response" },
        _ => new Quantity { Value = (decimal)score, Unit = "1", System = "http://unitsofmeasure.org", Code = "1" },
    };
}
