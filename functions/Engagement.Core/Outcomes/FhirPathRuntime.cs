using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using Hl7.FhirPath;

namespace Engagement.Outcomes;

/// <summary>
/// A compiled FHIRPath expression with its original text (the text tells which SDC variables it needs) and the
/// root-item lookups that were lifted out of it (see <see cref="FhirPathRuntime"/>).
/// </summary>
internal sealed record FhirPathExpression(string Text, CompiledExpression Compiled, IReadOnlyList<KeyValuePair<string, string>> ItemLookups)
{
    /// <summary>The same expression for <see cref="NativeFhirPath"/>, when it is inside that subset.</summary>
    public NativeFhirPath.Path? Native { get; init; }
}

/// <summary>
/// Firely's FHIRPath engine, compiled once per expression text and shared (compiled delegates are stateless).
/// One rewrite, for speed: <c>%resource.item.where(linkId = 'x')</c> — the usual way to pick an answer — becomes a
/// variable bound to the response's root items with that linkId. The result is the same collection; Firely's
/// where() costs about ten microseconds per element, the lookup almost nothing.
/// </summary>
internal static partial class FhirPathRuntime
{
    private static readonly FhirPathCompiler Compiler = new();
    private static readonly ConcurrentDictionary<string, FhirPathExpression> Compiled = new(StringComparer.Ordinal);

    [GeneratedRegex(@"%resource\.item\.where\(\s*linkId\s*=\s*'([^'\\]*)'\s*\)", RegexOptions.CultureInvariant)]
    private static partial Regex RootItemLookup();

    public static FhirPathExpression Compile(string expression, string where)
    {
        try
        {
            return Compiled.GetOrAdd(expression, static text =>
            {
                var lookups = new List<KeyValuePair<string, string>>();
                var rewritten = RootItemLookup().Replace(text, match =>
                {
                    var name = "engagementItem" + lookups.Count;
                    lookups.Add(new KeyValuePair<string, string>(name, match.Groups[1].Value));
                    return "%" + name;
                });
                return new FhirPathExpression(text, Compiler.Compile(rewritten), lookups) { Native = NativeFhirPath.TryCompile(text) };
            });
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException)
        {
            throw new InvalidOperationException($"FHIRPath in {where} does not compile: {ex.Message}", ex);
        }
    }

    public static PocoNode Node(Base poco) => poco.ToPocoNode(ModelInfo.ModelInspector);

    public static PocoNode Primitive(PrimitiveType value) => PocoNode.ForPrimitive(value);

    /// <summary>Converts a FHIRPath scalar (CLR value or FHIR primitive) to a decimal, when it is a number.</summary>
    public static decimal? ToDecimal(object? value) => value switch
    {
        null => null,
        int i => i,
        long l => l,
        decimal d => d,
        double d => (decimal)d,
        Integer i => i.Value,
        FhirDecimal d => d.Value,
        Integer64 l => l.Value,
        UnsignedInt u => u.Value,
        PositiveInt p => p.Value,
        Quantity q => q.Value,
        _ => null,
    };
}
