using Hl7.Fhir.Model;

namespace Engagement.Measures;

/// <summary>
/// The <c>$engagement</c> answer: a Bundle (collection) of summary MeasureReports, one per shipped engagement Measure.
/// R4 <c>MeasureReport.measure</c> is a single canonical and the engagement-measurereport profile is "a summary report of
/// one engagement Measure", so each report carries one group (the Measure's group code) with its populations,
/// measureScore and strata per age band, language, channel and Questionnaire.
/// </summary>
public static class MeasureReportBuilder
{
    public const string Base = "http://engagement-functions.org/fhir";
    public const string MeasureCodeSystem = Base + "/CodeSystem/engagement-measure";
    private const string PopulationSystem = "http://terminology.hl7.org/CodeSystem/measure-population";

    public static Bundle Build(MeasuresSnapshot snapshot, string measureVersion = "0.1.0")
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var bundle = new Bundle { Type = Bundle.BundleType.Collection, Timestamp = snapshot.Now };
        foreach (var code in MeasuresSnapshot.MeasureCodes)
        {
            var report = Report(snapshot, code, measureVersion);
            bundle.Entry.Add(new Bundle.EntryComponent { FullUrl = "urn:uuid:" + Guid.NewGuid().ToString("D"), Resource = report });
        }

        bundle.Total = bundle.Entry.Count;
        return bundle;
    }

    public static MeasureReport Report(MeasuresSnapshot snapshot, string code, string measureVersion = "0.1.0")
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var continuous = code is "time-to-respond" or "red-flag-acknowledgement-time";
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

        var report = new MeasureReport
        {
            Meta = new Meta { Profile = [Base + "/StructureDefinition/engagement-measurereport"] },
            Status = MeasureReport.MeasureReportStatus.Complete,
            Type = MeasureReport.MeasureReportType.Summary,
            Measure = $"{Base}/Measure/engagement-{code}|{measureVersion}",
            DateElement = new FhirDateTime(snapshot.Now),
            Period = new Period(new FhirDateTime(snapshot.Query.From.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture)),
                new FhirDateTime(snapshot.Query.To.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture))),
            Group = [group],
        };
        if (snapshot.Query.Protocol is { } protocol)
        {
            report.EvaluatedResource.Add(new ResourceReference("PlanDefinition/" + protocol));
        }

        return report;
    }

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
        "time-to-respond" => new Quantity((decimal)score, "h") { Unit = "h", System = "http://unitsofmeasure.org" },
        "red-flag-acknowledgement-time" => new Quantity((decimal)score, "min") { Unit = "min", System = "http://unitsofmeasure.org" },
        "reminders-per-response" => new Quantity { Value = (decimal)score, Unit = "reminders per response" },
        _ => new Quantity { Value = (decimal)score, Unit = "1", System = "http://unitsofmeasure.org", Code = "1" },
    };
}
