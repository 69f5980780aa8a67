using Engagement.Diagnostics.DurableProbe;
using Microsoft.DurableTask;

namespace Engagement.Durable;

/// <summary>
/// Every orchestrator and activity of the product, written once. The standalone host registers this catalog
/// with its durable worker; the Functions app has one thin trigger function per entry (a test keeps them equal).
/// </summary>
public static class DurableTaskCatalog
{
    public static IReadOnlyList<Type> Orchestrators { get; } =
    [
        typeof(ProbeOrchestrator),
    ];

    public static IReadOnlyList<Type> Activities { get; } =
    [
        typeof(RecordProbeStepActivity),
    ];

    public static void Register(DurableTaskRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        foreach (var type in Orchestrators)
        {
            registry.AddOrchestrator(type);
        }

        foreach (var type in Activities)
        {
            registry.AddActivity(type);
        }
    }
}
