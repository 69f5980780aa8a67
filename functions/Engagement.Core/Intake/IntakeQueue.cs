using System.Text.Json;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Options;

namespace Engagement.Intake;

/// <summary>The work item on the intake queue: which inbox row to process.</summary>
public sealed record IntakeWorkItem(string Source, string Key)
{
    public BinaryData ToBinaryData() => BinaryData.FromObjectAsJson(this);

    public static IntakeWorkItem? Parse(BinaryData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        try
        {
            return data.ToObjectFromJson<IntakeWorkItem>() is { Source.Length: > 0, Key.Length: > 0 } item ? item : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>
/// The intake queue (<c>{prefix}</c>, Base64 messages as the Functions queue trigger expects). Only a latency path:
/// losing a message delays processing until the sweeper finds the inbox row.
/// </summary>
public sealed class IntakeQueue(StorageClients storage, IOptions<IntakeOptions> options)
{
    private readonly QueueClient queue = storage.Queues.GetQueueClient(options.Value.QueueName);
    private volatile bool ready;

    public string Name => queue.Name;

    public async Task SendAsync(IntakeWorkItem item, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(item);
        await EnsureAsync(cancellationToken);
        await queue.SendMessageAsync(item.ToBinaryData(), cancellationToken: cancellationToken);
    }

    public async Task<QueueMessage[]> ReceiveAsync(int max, TimeSpan visibility, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken);
        return (await queue.ReceiveMessagesAsync(max, visibility, cancellationToken)).Value;
    }

    public Task DeleteAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        return queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, cancellationToken);
    }

    private async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (!ready)
        {
            await queue.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            ready = true;
        }
    }
}
