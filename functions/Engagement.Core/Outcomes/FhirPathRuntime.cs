using System.Collections.Concurrent;
using Hl7.Fhir.Model;
using Hl7.FhirPath;

namespace Engagement.Outcomes;

/// <summary>Firely's FHIRPath engine, compiled once per expression text and shared (compiled delegates are stateless).</summary>
internal static class FhirPathRuntime
{
    private static readonly FhirPathCompiler Compiler = new();
    private static readonly ConcurrentDictionary<string, CompiledExpression> Compiled = new(StringComparer.Ordinal);

    public static CompiledExpression Compile(string expression, string where)
    {
        try
        {
            return Compiled.GetOrAdd(expression, static text => Compiler.Compile(text));
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
