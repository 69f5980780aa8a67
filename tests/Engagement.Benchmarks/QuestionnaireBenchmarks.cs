using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Engagement.Http;
using Engagement.Outcomes;
using Firely.Fhir.Validation;
using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Source;
using Hl7.Fhir.Specification.Terminology;

namespace Engagement.Benchmarks;

/// <summary>
/// One PHQ-9 response (the test fixture, total 11): our validate + score + red flags, our validation alone, and
/// Firely's profile validator against the core QuestionnaireResponse profile. Both sides are warmed in setup
/// (Questionnaire compiled, StructureDefinitions loaded), so the figures are steady-state per response.
/// </summary>
[MemoryDiagnoser]
[MinColumn]
[MedianColumn]
public class QuestionnaireBenchmarks
{
    private const string CoreProfile = "http://hl7.org/fhir/StructureDefinition/QuestionnaireResponse";
    private Questionnaire _phq9 = null!;
    private QuestionnaireResponse _response = null!;
    private QuestionnaireEngine _engine = null!;
    private QuestionnaireResponseValidator _validator = null!;
    private QuestionnaireScorer _scorer = null!;
    private QuestionnaireResponse _scored = null!;
    private Validator _firely = null!;

    [GlobalSetup]
    public void Setup()
    {
        _phq9 = Load<Questionnaire>(Path.Combine(AppContext.BaseDirectory, "fhir-profiles", "Questionnaire-phq-9.json"));
        _response = Load<QuestionnaireResponse>(Path.Combine(AppContext.BaseDirectory, "QuestionnaireResponse-phq-9-moderate.json"));
        _engine = new QuestionnaireEngine();
        _validator = new QuestionnaireResponseValidator();
        _scorer = new QuestionnaireScorer();
        var ours = _engine.Process(_phq9, _response);
        _scored = ours.Scored!;
        if (!ours.IsValid || ours.TotalScore != 11m)
        {
            throw new InvalidOperationException("The PHQ-9 fixture should be valid with total 11.");
        }

        var resolver = new CachedResolver(ZipSource.CreateValidationSource());
        _firely = new Validator(resolver, LocalTerminologyService.CreateDefaultForCore(resolver));
        var theirs = _firely.Validate(_response, CoreProfile);
        Console.WriteLine($"// Firely outcome for the fixture: success={theirs.Success}, issues={theirs.Issue.Count}");
    }

    [Benchmark(Baseline = true, Description = "ours: validate + score + red flags")]
    public ProcessedResponse OursProcess() => _engine.Process(_phq9, _response);

    [Benchmark(Description = "ours: validate only")]
    public OperationOutcome OursValidate() => _validator.Validate(_phq9, _response);

    [Benchmark(Description = "ours: score only (copy, weights, calculatedExpression)")]
    public ScoreResult OursScore() => _scorer.Score(_phq9, _response);

    [Benchmark(Description = "ours: red flags only")]
    public IReadOnlyList<RaisedRedFlag> OursRedFlags() => RedFlagEvaluator.Evaluate(_phq9, _scored, 11m);

    [Benchmark(Description = "Firely.Fhir.Validation: core QuestionnaireResponse profile")]
    public OperationOutcome FirelyCoreProfile() => _firely.Validate(_response, CoreProfile);

    private static T Load<T>(string path) where T : Resource =>
        JsonSerializer.Deserialize<T>(File.ReadAllText(path), FhirJson.Options) ?? throw new InvalidOperationException(path);
}
