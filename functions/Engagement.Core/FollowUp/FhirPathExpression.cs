using System.Collections.Concurrent;
using System.Text.Json.Serialization;
using Hl7.Fhir.FhirPath;
using Hl7.Fhir.Model;
using Hl7.FhirPath;

namespace Engagement.FollowUp;

/// <summary>
/// A FHIRPath expression of a protocol. Only the text is data (it serializes as such); the compiled form comes from
/// a process-wide cache, so the same expression text is compiled once however many protocols or runs use it.
/// </summary>
public sealed record FhirPathExpression
{
    private static readonly FhirPathCompiler Compiler = new();
    private static readonly ConcurrentDictionary<string, CompiledExpression> Cache = new(StringComparer.Ordinal);

    [JsonConstructor]
    public FhirPathExpression(string text)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        Text = text;
    }

    public string Text { get; }

    [JsonIgnore]
    internal CompiledExpression Compiled => Cache.GetOrAdd(Text, static text => Compiler.Compile(text));

    /// <summary>Compiles <paramref name="text"/>; on a syntax error returns <c>null</c> and the parser's message.</summary>
    public static FhirPathExpression? TryCompile(string text, out string? error)
    {
        try
        {
            var expression = new FhirPathExpression(text);
            _ = expression.Compiled;
            error = null;
            return expression;
        }
        catch (FormatException e)
        {
            error = e.Message;
            return null;
        }
        catch (ArgumentException e)
        {
            error = e.Message;
            return null;
        }
    }

    /// <summary>Evaluates with <c>%resource</c> (and the focus) bound to <paramref name="resource"/>.</summary>
    public IReadOnlyList<Base> Evaluate(Resource resource, IReadOnlyDictionary<string, IEnumerable<object>>? variables = null)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var node = resource.ToPocoNode(ModelInfo.ModelInspector, null);
        return Select(node, Context(node, variables));
    }

    /// <summary>True when the expression evaluates to a single <c>true</c> for <paramref name="resource"/>.</summary>
    public bool IsTrue(Resource resource, IReadOnlyDictionary<string, IEnumerable<object>>? variables = null)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var node = resource.ToPocoNode(ModelInfo.ModelInspector, null);
        return Compiled.IsTrue(node, Context(node, variables));
    }

    /// <summary>True when the expression, evaluated with only <paramref name="variables"/> bound, is <c>true</c>.</summary>
    public bool IsTrue(IReadOnlyDictionary<string, IEnumerable<object>> variables)
    {
        var node = new Parameters().ToPocoNode(ModelInfo.ModelInspector, null);
        return Compiled.IsTrue(node, Context(null, variables));
    }

    private List<Base> Select(PocoNode focus, EvaluationContext context) =>
        [.. Compiled(focus, context).Select(n => n.Poco).OfType<Base>()];

    private static FhirEvaluationContext Context(PocoNode? resource, IReadOnlyDictionary<string, IEnumerable<object>>? variables)
    {
        var context = new FhirEvaluationContext();
        if (resource is not null)
        {
            context.Resource = resource;
            context.RootResource = resource;
        }

        if (variables is not null)
        {
            foreach (var (name, values) in variables)
            {
                context.Environment[name] = [.. PocoNode.FromAnyList(values)];
            }
        }

        return context;
    }

    public override string ToString() => Text;
}
