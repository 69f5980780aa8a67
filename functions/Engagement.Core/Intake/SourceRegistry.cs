using Microsoft.Extensions.Options;

namespace Engagement.Intake;

/// <summary>Configured sources by name (case-insensitive, as configuration keys are).</summary>
public sealed class SourceMap : Dictionary<string, SourceOptions>
{
    public SourceMap()
        : base(StringComparer.OrdinalIgnoreCase)
    {
    }
}

/// <summary>The sources of <c>Engagement:Sources</c>, reloaded when configuration changes.</summary>
public sealed class SourceRegistry(IOptionsMonitor<SourceMap> sources)
{
    public SourceOptions? Find(string name) =>
        sources.CurrentValue.TryGetValue(name, out var source) ? source : null;

    public IEnumerable<string> Names => sources.CurrentValue.Keys;
}
