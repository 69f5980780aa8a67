using Engagement.Durable;
using Engagement.FollowUp.Engine;
using Engagement.Intake;
using Microsoft.DurableTask.Client;
using Microsoft.Azure.Functions.Worker;

namespace Engagement.Functions.Durable;

/// <summary>
/// Processes acknowledged deliveries from the intake queue (default prefix: queue <c>intake</c>). The host retries a
/// failed message and moves it to <c>intake-poison</c> after five tries; the sweeper's backstop scan still re-drives the
/// inbox row (<see cref="IntakeOptions.BackstopInterval"/>).
/// It also runs the durable history purge when due (<see cref="DurableRetention"/>): in this app the durable client exists
/// only inside an invocation, and no timer trigger is available here (the Timer extension's host package is not served
/// by this project's package feed).
/// </summary>
public sealed class IntakeQueueFunctions(IntakeProcessor processor, DurableRetention retention)
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
        var items = IntakeWorkItem.ParseMany(BinaryData.FromString(message), DequeueCount(context.BindingContext.BindingData));
        await IntakeProcessor.ProcessAllAsync(processor, items, context.CancellationToken);
        await retention.RunIfDueAsync(client, context.CancellationToken);
    }

    /// <summary>The queue trigger's <c>DequeueCount</c> binding data (1 on the first delivery); 0 when absent or unreadable.</summary>
    public static long DequeueCount(IReadOnlyDictionary<string, object?> bindingData)
    {
        ArgumentNullException.ThrowIfNull(bindingData);
        return bindingData.TryGetValue("DequeueCount", out var value)
            && long.TryParse(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture), System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var count)
            ? count
            : 0;
    }
}
