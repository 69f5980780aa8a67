using Engagement.Intake;
using Microsoft.Azure.Functions.Worker;

namespace Engagement.Functions.Durable;

/// <summary>
/// Processes acknowledged deliveries from the intake queue (default prefix: queue <c>intake</c>). The host retries a
/// failed message and moves it to <c>intake-poison</c> after five tries; the sweeper still re-drives the inbox row.
/// </summary>
public sealed class IntakeQueueFunctions(IntakeProcessor processor)
{
    [Function("IntakeProcess")]
    public async Task Process([QueueTrigger("intake", Connection = "AzureWebJobsStorage")] string message, FunctionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (IntakeWorkItem.Parse(BinaryData.FromString(message)) is { } item)
        {
            await processor.ProcessAsync(item, context.CancellationToken);
        }
    }
}
