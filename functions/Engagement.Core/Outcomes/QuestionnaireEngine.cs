using Hl7.Fhir.Model;

namespace Engagement.Outcomes;

/// <summary>The outcome of processing one response.</summary>
/// <param name="Outcome">One error issue per problem, or a single informational issue when valid.</param>
/// <param name="IsValid">No error issues.</param>
/// <param name="Scored">A copy of the response with computed items filled; null when invalid.</param>
/// <param name="TotalScore">The score item's value; null when invalid or the Questionnaire has no score.</param>
/// <param name="Band">The severity band of the total (e.g. <c>moderate</c>), when bands are known.</param>
/// <param name="RedFlags">The red flags the scored response raised; empty when invalid.</param>
public sealed record ProcessedResponse(
    OperationOutcome Outcome,
    bool IsValid,
    QuestionnaireResponse? Scored,
    decimal? TotalScore,
    string? Band,
    IReadOnlyList<RaisedRedFlag> RedFlags);

/// <summary>
/// Validate, then score, then evaluate red flags. Stateless apart from per-Questionnaire compiled caches, so one
/// instance can serve all requests. A Questionnaire instance must not be changed after it has been processed.
/// An invalid response is neither scored nor flagged: the caller answers 422 and nothing is stored.
/// </summary>
public sealed class QuestionnaireEngine
{
    private readonly QuestionnaireResponseValidator _validator;
    private readonly QuestionnaireScorer _scorer;

    public QuestionnaireEngine(IValueSetResolver? valueSets = null, ICodeSystemResolver? codeSystems = null)
    {
        _validator = new QuestionnaireResponseValidator(valueSets);
        _scorer = new QuestionnaireScorer(codeSystems);
    }

    public ProcessedResponse Process(Questionnaire questionnaire, QuestionnaireResponse response)
    {
        ArgumentNullException.ThrowIfNull(questionnaire);
        ArgumentNullException.ThrowIfNull(response);
        var compiled = CompiledQuestionnaire.For(questionnaire);
        var issues = _validator.Validate(compiled, response);
        var valid = !issues.Exists(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal);
        var outcome = QuestionnaireResponseValidator.ToOutcome(issues, questionnaire.Url);
        if (!valid)
        {
            return new ProcessedResponse(outcome, false, null, null, null, []);
        }

        var score = _scorer.Score(compiled, response);
        var flags = RedFlagEvaluator.Evaluate(compiled, score.Scored, score.TotalScore);
        return new ProcessedResponse(outcome, true, score.Scored, score.TotalScore, score.Band, flags);
    }
}
