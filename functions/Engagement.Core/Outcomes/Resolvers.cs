using Hl7.Fhir.Model;

namespace Engagement.Outcomes;

/// <summary>Finds a ValueSet by canonical (with or without <c>|version</c>). Returns null when unknown.</summary>
public interface IValueSetResolver
{
    ValueSet? ResolveValueSet(string canonical);
}

/// <summary>Finds a CodeSystem by its url. Used for concept weights when answer options are codes only.</summary>
public interface ICodeSystemResolver
{
    CodeSystem? ResolveCodeSystem(string url);
}

/// <summary>Resolves nothing; the default when a caller has no terminology.</summary>
public sealed class NoTerminology : IValueSetResolver, ICodeSystemResolver
{
    public static readonly NoTerminology Instance = new();

    public ValueSet? ResolveValueSet(string canonical) => null;

    public CodeSystem? ResolveCodeSystem(string url) => null;
}

/// <summary>An in-memory terminology store keyed by canonical url; thread-safe for reads after construction.</summary>
public sealed class InMemoryTerminology : IValueSetResolver, ICodeSystemResolver
{
    private readonly Dictionary<string, ValueSet> _valueSets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CodeSystem> _codeSystems = new(StringComparer.Ordinal);

    public InMemoryTerminology(IEnumerable<Resource> resources)
    {
        ArgumentNullException.ThrowIfNull(resources);
        foreach (var resource in resources)
        {
            switch (resource)
            {
                case ValueSet vs when vs.Url is not null:
                    _valueSets[vs.Url] = vs;
                    break;
                case CodeSystem cs when cs.Url is not null:
                    _codeSystems[cs.Url] = cs;
                    break;
            }
        }
    }

    public ValueSet? ResolveValueSet(string canonical) =>
        _valueSets.TryGetValue(StripVersion(canonical), out var vs) ? vs : null;

    public CodeSystem? ResolveCodeSystem(string url) =>
        _codeSystems.TryGetValue(StripVersion(url), out var cs) ? cs : null;

    private static string StripVersion(string canonical)
    {
        var bar = canonical.IndexOf('|', StringComparison.Ordinal);
        return bar < 0 ? canonical : canonical[..bar];
    }
}
