using System.Text.Json;
using System.Threading.Channels;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Options;

namespace Engagement.Intake;

/// <summary>
/// The work item on the intake queue: which inbox row to process, and the W3C traceparent of the request that
/// stored it (telemetry only; null for rows the sweeper finds).
/// </summary>
public sealed record IntakeWorkItem(string Source, string Key, string? TraceParent = null)
{
    public BinaryData ToBinaryData() => BinaryData.FromObjectAsJson(this);

    /// <summary>The items of a queue message: a JSON array of work items (or one object). Unreadable messages yield none.</summary>
    public static IReadOnlyList<IntakeWorkItem> ParseMany(BinaryData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        try
        {
            var text = data.ToString().TrimStart();
            var items = text.StartsWith('[') ? data.ToObjectFromJson<IntakeWorkItem[]>() ?? [] : [data.ToObjectFromJson<IntakeWorkItem>()!];
            return [.. items.Where(i => i is { Source.Length: > 0, Key.Length: > 0 })];
        }
        catch (JsonException)
        {
            return [];
        }
    }
}

/// <summary>
/// The intake queue (<c>{prefix}</c>, Base64 messages as the Functions queue trigger expects). Only a latency path:
/// losing a message delays processing until the sweeper finds the inbox row.
/// </summary>
public sealed class IntakeQueue(StorageClients storage, IOptions<IntakeOptions> options)
{
    /// <summary>Most work items per queue message: the accept path costs about one storage write, not two.</summary>
    public const int MaxBatch = 64;

    private readonly QueueClient queue = storage.Queues.GetQueueClient(options.Value.QueueName);
    private readonly Channel<IntakeWorkItem> pending = Channel.CreateUnbounded<IntakeWorkItem>(new UnboundedChannelOptions { SingleReader = true });
    private volatile bool ready;
    private TaskCompletionSource sent = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Name => queue.Name;

    /// <summary>
    /// Completes when this process next sends a message to the queue. The standalone host's listener takes it before
    /// receiving and, when the queue was empty, waits on it as well as on its idle back-off: work this host accepted is
    /// picked up at once instead of after up to a second of back-off (as the Functions queue trigger does for messages
    /// its own host added). Messages from other instances still arrive by polling.
    /// </summary>
    public Task NextSend => Volatile.Read(ref sent).Task;

    /// <summary>Hands the item to the enqueue pump (in memory: the inbox row, not this, is what is durable).</summary>
    public void Post(IntakeWorkItem item) => pending.Writer.TryWrite(item);

    /// <summary>Waits for posted items and sends them, up to <see cref="MaxBatch"/> per message. Returns how many were sent.</summary>
    public async Task<int> PumpOnceAsync(CancellationToken cancellationToken)
    {
        var batch = new List<IntakeWorkItem> { await pending.Reader.ReadAsync(cancellationToken) };
        while (batch.Count < MaxBatch && pending.Reader.TryRead(out var more))
        {
            batch.Add(more);
        }

        await SendAsync(batch, cancellationToken);
        return batch.Count;
    }

    public async Task SendAsync(IReadOnlyList<IntakeWorkItem> items, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(items);
        await EnsureAsync(cancellationToken);
        await queue.SendMessageAsync(BinaryData.FromObjectAsJson(items), cancellationToken: cancellationToken);
        Interlocked.Exchange(ref sent, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
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
