using Engagement.Diagnostics.DurableProbe;
using Engagement.Functions.Durable;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

namespace Engagement.Functions.Durable;

/// <summary>Triggers for the durable probe: the orchestrator and activity classes are the core's own.</summary>
public sealed class ProbeFunctions(RecordProbeStepActivity recordStep)
{
    [Function(nameof(ProbeOrchestrator))]
    public static Task<ProbeResult> RunProbe([OrchestrationTrigger] TaskOrchestrationContext context) =>
        new ProbeOrchestrator().RunAsync(context, context.GetInput<ProbeInput>()!);

    [Function(nameof(RecordProbeStepActivity))]
    public Task<int> RecordStep([ActivityTrigger] ProbeStep input, FunctionContext context) =>
        recordStep.RunAsync(new FunctionActivityContext(nameof(RecordProbeStepActivity), context.InvocationId), input);
}
