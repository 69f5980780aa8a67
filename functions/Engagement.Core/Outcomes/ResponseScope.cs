using Hl7.Fhir.Model;
using Hl7.FhirPath;

namespace Engagement.Outcomes;

/// <summary>
/// FHIRPath evaluation over one QuestionnaireResponse: <c>%resource</c> is the response (also the focus),
/// <c>%questionnaire</c> the Questionnaire, and the SDC variables in scope (Questionnaire level, then the item's
/// ancestors', then the item's own, in document order) bound by name. A variable is only evaluated when the
/// expression (or a variable it needs) mentions it, and at most once per scope for the Questionnaire level.
/// </summary>
/// <remarks>
/// Each expression is first evaluated by <see cref="NativeFhirPath"/> when it and every variable it needs are inside
/// that subset; whatever the subset does not cover, at compile or at run time, is evaluated by Firely's engine, the
/// reference (same results: <c>NativeFhirPathTests</c>).
/// </remarks>
internal sealed class ResponseScope
{
    private readonly CompiledQuestionnaire _questionnaire;
    private readonly QuestionnaireResponse _response;
    private readonly Dictionary<string, IEnumerable<PocoNode>> _rootValues = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<object>> _nativeRootValues = new(StringComparer.Ordinal);
    private static readonly FhirPathExpression RootItems = FhirPathRuntime.Compile("%resource.item", "root items");
    private PocoNode? _node;
    private List<PocoNode>? _rootItems;

    public ResponseScope(CompiledQuestionnaire questionnaire, QuestionnaireResponse response)
    {
        _questionnaire = questionnaire;
        _response = response;
    }

    private PocoNode Node => _node ??= FhirPathRuntime.Node(_response);

    /// <summary>Firely's result for the expression (the reference path).</summary>
    public List<PocoNode> Evaluate(FhirPathExpression expression, CompiledItem? item, IReadOnlyDictionary<string, IEnumerable<PocoNode>>? extra = null)
    {
        var environment = new Dictionary<string, IEnumerable<PocoNode>>(StringComparer.Ordinal)
        {
            ["questionnaire"] = [_questionnaire.QuestionnaireNode],
        };
        if (extra is not null)
        {
            foreach (var (name, value) in extra)
            {
                environment[name] = value;
            }
        }

        var scopes = Scopes(item);
        var needed = Needed(expression.Text, scopes);
        for (var s = 0; s < scopes.Count; s++)
        {
            foreach (var variable in scopes[s])
            {
                if (!needed.Contains(variable))
                {
                    continue;
                }

                if (s == 0 && _rootValues.TryGetValue(variable.Name, out var cached))
                {
                    environment[variable.Name] = cached;
                    continue;
                }

                BindItemLookups(variable.Expression, environment);
                var value = variable.Expression.Compiled(Node, new EvaluationContext { Environment = environment }).ToList();
                environment[variable.Name] = value;
                if (s == 0)
                {
                    _rootValues[variable.Name] = value;
                }
            }
        }

        BindItemLookups(expression, environment);
        return expression.Compiled(Node, new EvaluationContext { Environment = environment }).ToList();
    }

    /// <summary>
    /// The native result for the expression, or null when the expression or a variable it needs is outside the native
    /// subset (then <see cref="Evaluate"/> gives Firely's).
    /// </summary>
    public List<object>? TryEvaluateNative(FhirPathExpression expression, CompiledItem? item, IReadOnlyDictionary<string, IEnumerable<PocoNode>>? extra = null)
    {
        if (expression.Native is not { } path)
        {
            return null;
        }

        var scopes = Scopes(item);
        var needed = Needed(expression.Text, scopes);
        if (needed.Any(v => v.Expression.Native is null))
        {
            return null;
        }

        var variables = new Dictionary<string, List<object>>(StringComparer.Ordinal)
        {
            ["resource"] = [_response],
            ["questionnaire"] = [_questionnaire.QuestionnaireNode.Poco],
        };
        if (extra is not null)
        {
            foreach (var (name, value) in extra)
            {
                variables[name] = [.. value.Select(n => (object)n.Poco)];
            }
        }

        var context = new NativeFhirPath.Context(variables);
        List<object> focus = [_response];
        try
        {
            for (var s = 0; s < scopes.Count; s++)
            {
                foreach (var variable in scopes[s])
                {
                    if (!needed.Contains(variable))
                    {
                        continue;
                    }

                    if (s == 0 && _nativeRootValues.TryGetValue(variable.Name, out var cached))
                    {
                        variables[variable.Name] = cached;
                        continue;
                    }

                    var value = variable.Expression.Native!(context, focus);
                    variables[variable.Name] = value;
                    if (s == 0)
                    {
                        _nativeRootValues[variable.Name] = value;
                    }
                }
            }

            return path(context, focus);
        }
        catch (Exception ex) when (ex is NotSupportedException or OverflowException)
        {
            return null; // outside the subset at run time: Firely decides
        }
    }

    private List<IReadOnlyList<CompiledVariable>> Scopes(CompiledItem? item)
    {
        var scopes = new List<IReadOnlyList<CompiledVariable>> { _questionnaire.Variables };
        var chain = new Stack<CompiledItem>();
        for (var i = item; i is not null; i = i.Parent)
        {
            if (i.Variables.Count > 0)
            {
                chain.Push(i);
            }
        }

        scopes.AddRange(chain.Select(i => i.Variables));
        return scopes;
    }

    private void BindItemLookups(FhirPathExpression expression, Dictionary<string, IEnumerable<PocoNode>> environment)
    {
        if (expression.ItemLookups.Count == 0)
        {
            return;
        }

        _rootItems ??= RootItems.Compiled(Node, new EvaluationContext()).ToList();
        foreach (var (name, linkId) in expression.ItemLookups)
        {
            environment[name] = _rootItems.Where(n => n.Poco is QuestionnaireResponse.ItemComponent { LinkId: var l } && l == linkId).ToList();
        }
    }

    public object? Scalar(FhirPathExpression expression, CompiledItem? item)
    {
        var results = TryEvaluateNative(expression, item) ?? [.. Evaluate(expression, item).Select(n => (object)n.Poco)];
        return results switch
        {
            [] => null,
            [var single] => single is PrimitiveType p ? p.JsonValue : single,
            _ => throw new InvalidOperationException($"Expression for item '{item?.LinkId}' returned {results.Count} values, one expected."),
        };
    }

    public bool IsTrue(FhirPathExpression expression, CompiledItem? item, IReadOnlyDictionary<string, IEnumerable<PocoNode>>? extra = null)
    {
        var results = TryEvaluateNative(expression, item, extra) ?? [.. Evaluate(expression, item, extra).Select(n => (object)n.Poco)];
        return results switch
        {
            [bool b] => b,
            [PrimitiveType { JsonValue: bool b }] => b,
            [] => false,
            _ => true, // FHIRPath: a non-empty, non-boolean collection used as a condition is true.
        };
    }

    /// <summary>The variables the text mentions, and those they mention in turn.</summary>
    private static HashSet<CompiledVariable> Needed(string text, List<IReadOnlyList<CompiledVariable>> scopes)
    {
        var needed = new HashSet<CompiledVariable>();
        var pending = new Stack<string>([text]);
        while (pending.TryPop(out var current))
        {
            foreach (var scope in scopes)
            {
                foreach (var variable in scope)
                {
                    if (!needed.Contains(variable) && current.Contains("%" + variable.Name, StringComparison.Ordinal))
                    {
                        needed.Add(variable);
                        pending.Push(variable.Expression.Text);
                    }
                }
            }
        }

        return needed;
    }
}
