using Microsoft.DurableTask;

namespace Engagement.Functions.Durable;

/// <summary>The activity context a core <see cref="TaskActivity{TInput, TOutput}"/> sees when run by a Functions trigger.</summary>
internal sealed class FunctionActivityContext(string name, string instanceId) : TaskActivityContext
{
    public override TaskName Name { get; } = new(name);

    public override string InstanceId { get; } = instanceId;
}
