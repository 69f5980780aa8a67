using Engagement.Durable;
using Engagement.Intake;
using Microsoft.DurableTask.Client;
using Microsoft.Azure.Functions.Worker;

namespace Engagement.Functions.Durable;

/// <summary>
/// Processes acknowledged deliveries from the intake queue (default prefix: queue <c>intake</c>). The host retries a
/// failed message and moves it to <c>intake-poison</c> after five tries; the sweeper still re-drives the inbox row.
/// </summary>
public sealed class IntakeQueueFunctions(IntakeProcessor processor)
{
    [Function("IntakeProcess")]
    public async Task Process(
        [QueueTrigger("intake", Connection = "AzureWebJobsStorage")] string message,
        [DurableClient] DurableTaskClient client,
        FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        // Routing starts follow-up orchestrations: it uses this invocation's durable client.
        using var _ = InvocationDurableClientAccessor.Use(client);
        await IntakeProcessor.ProcessAllAsync(processor, IntakeWorkItem.ParseMany(BinaryData.FromString(message)), context.CancellationToken);
    }
}
