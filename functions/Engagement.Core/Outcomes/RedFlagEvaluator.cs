using Hl7.Fhir.Model;

namespace Engagement.Outcomes;

/// <summary>A red flag a response raised: what the Flag says, how urgent, and a clinician-facing description (no PHI).</summary>
public sealed record RaisedRedFlag(Coding Code, string Priority, string Description);

/// <summary>
/// Evaluates the Questionnaire's red-flag extensions (FHIRPath on the scored QuestionnaireResponse, with
/// <c>%totalScore</c> bound to the total or empty). Logs nothing: rules, answers and scores stay out of telemetry.
/// </summary>
public static class RedFlagEvaluator
{
    public static IReadOnlyList<RaisedRedFlag> Evaluate(Questionnaire questionnaire, QuestionnaireResponse scored, decimal? totalScore)
    {
        ArgumentNullException.ThrowIfNull(questionnaire);
        ArgumentNullException.ThrowIfNull(scored);
        return Evaluate(CompiledQuestionnaire.For(questionnaire), scored, totalScore);
    }

    internal static IReadOnlyList<RaisedRedFlag> Evaluate(CompiledQuestionnaire questionnaire, QuestionnaireResponse scored, decimal? totalScore)
    {
        if (questionnaire.RedFlags.Count == 0)
        {
            return [];
        }

        var scope = new ResponseScope(questionnaire, scored);
        var bound = new Dictionary<string, IEnumerable<Hl7.Fhir.Model.PocoNode>>(StringComparer.Ordinal)
        {
            ["totalScore"] = totalScore is { } t ? [FhirPathRuntime.Primitive(new FhirDecimal(t))] : [],
        };

        var raised = new List<RaisedRedFlag>();
        foreach (var flag in questionnaire.RedFlags)
        {
            if (scope.IsTrue(flag.Expression, null, bound))
            {
                raised.Add(new RaisedRedFlag((Coding)flag.Code.DeepCopy(), flag.Priority, flag.Description));
            }
        }

        return raised;
    }
}
