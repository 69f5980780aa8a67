using Hl7.Fhir.Model;
using Hl7.FhirPath;

namespace Engagement.Outcomes;

/// <summary>
/// FHIRPath evaluation over one QuestionnaireResponse: <c>%resource</c> is the response, <c>%questionnaire</c> the
/// Questionnaire, and the SDC variables in scope are bound by name (Questionnaire-level first, then the item's
/// ancestors' and the item's own, in document order). Expressions are evaluated with the response as focus.
/// </summary>
internal sealed class ResponseScope
{
    private readonly CompiledQuestionnaire _questionnaire;
    private readonly PocoNode _node;
    private Dictionary<string, IEnumerable<PocoNode>>? _rootEnvironment;

    public ResponseScope(CompiledQuestionnaire questionnaire, QuestionnaireResponse response)
    {
        _questionnaire = questionnaire;
        _node = FhirPathRuntime.Node(response);
    }

    public List<PocoNode> Evaluate(CompiledExpression expression, CompiledItem? item, IReadOnlyDictionary<string, IEnumerable<PocoNode>>? extra = null)
    {
        var environment = Environment(item);
        if (extra is not null)
        {
            environment = new Dictionary<string, IEnumerable<PocoNode>>(environment, StringComparer.Ordinal);
            foreach (var (name, value) in extra)
            {
                environment[name] = value;
            }
        }

        return expression(_node, new EvaluationContext { Environment = environment }).ToList();
    }

    public object? Scalar(CompiledExpression expression, CompiledItem? item)
    {
        var results = Evaluate(expression, item);
        return results switch
        {
            [] => null,
            [var single] => single.Poco is PrimitiveType p ? p.JsonValue : single.Poco,
            _ => throw new InvalidOperationException($"Expression for item '{item?.LinkId}' returned {results.Count} values, one expected."),
        };
    }

    public bool IsTrue(CompiledExpression expression, CompiledItem? item, IReadOnlyDictionary<string, IEnumerable<PocoNode>>? extra = null)
    {
        var results = Evaluate(expression, item, extra);
        return results switch
        {
            [var single] when single.Poco is PrimitiveType { JsonValue: bool b } => b,
            [] => false,
            _ => true, // FHIRPath: a non-empty, non-boolean collection used as a condition is true.
        };
    }

    private Dictionary<string, IEnumerable<PocoNode>> Environment(CompiledItem? item)
    {
        _rootEnvironment ??= Bind(new Dictionary<string, IEnumerable<PocoNode>>(StringComparer.Ordinal)
        {
            ["questionnaire"] = [_questionnaire.QuestionnaireNode],
        }, _questionnaire.Variables);

        if (item is null)
        {
            return _rootEnvironment;
        }

        var chain = new Stack<CompiledItem>();
        for (var i = item; i is not null; i = i.Parent)
        {
            if (i.Variables.Count > 0)
            {
                chain.Push(i);
            }
        }

        if (chain.Count == 0)
        {
            return _rootEnvironment;
        }

        var environment = new Dictionary<string, IEnumerable<PocoNode>>(_rootEnvironment, StringComparer.Ordinal);
        while (chain.TryPop(out var scope))
        {
            Bind(environment, scope.Variables);
        }

        return environment;
    }

    private Dictionary<string, IEnumerable<PocoNode>> Bind(Dictionary<string, IEnumerable<PocoNode>> environment, IReadOnlyList<CompiledVariable> variables)
    {
        foreach (var variable in variables)
        {
            environment[variable.Name] = variable.Expression(_node, new EvaluationContext { Environment = environment }).ToList();
        }

        return environment;
    }
}
