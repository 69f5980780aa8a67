using Engagement.Diagnostics.DurableProbe;
using Engagement.FollowUp.Engine;
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
        typeof(FollowUpOrchestrator),
    ];

    public static IReadOnlyList<Type> Activities { get; } =
    [
        typeof(RecordProbeStepActivity),
        typeof(PlanFollowUpActivity),
        typeof(SendOutreachActivity),
        typeof(EscalateFollowUpActivity),
        typeof(RecordResponseActivity),
        typeof(FinishFollowUpActivity),
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
