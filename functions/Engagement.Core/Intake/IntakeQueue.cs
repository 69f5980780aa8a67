using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Options;

namespace Engagement.Intake;

/// <summary>
/// The work item on the intake queue: which inbox row to process, and the W3C traceparent of the request that
/// stored it (telemetry only; null for rows the sweeper finds). <paramref name="Row"/> is the row as this process
/// stored it, carried only by the in-memory hand-off (never serialized), so the processor need not read it back.
/// <paramref name="FirstDelivery"/> (never serialized): the item came from a queue message delivered for the first time.
/// </summary>
public sealed record IntakeWorkItem(
    string Source,
    string Key,
    string? TraceParent = null,
    [property: System.Text.Json.Serialization.JsonIgnore] InboxItem? Row = null,
    [property: System.Text.Json.Serialization.JsonIgnore] bool FirstDelivery = false)
{
    /// <summary>
    /// Whether an earlier run may have routed and journaled this row's events without marking it processed (a crash
    /// in between): true unless the item is this process's own hand-off or a queue message's first delivery. The
    /// processor then looks each event up before routing it, so a rerun does not route an older version again.
    /// </summary>
    public bool MayBeRerun => Row is null && !FirstDelivery;

    public BinaryData ToBinaryData() => BinaryData.FromObjectAsJson(this);

    /// <summary>
    /// The items of a queue message: a JSON array of work items (or one object). Unreadable messages yield none.
    /// <paramref name="dequeueCount"/> is the message's delivery count (1 the first time; 0 when unknown, taken as a rerun).
    /// </summary>
    public static IReadOnlyList<IntakeWorkItem> ParseMany(BinaryData data, long dequeueCount = 0)
    {
        ArgumentNullException.ThrowIfNull(data);
        try
        {
            var text = data.ToString().TrimStart();
            var items = text.StartsWith('[') ? data.ToObjectFromJson<IntakeWorkItem[]>() ?? [] : [data.ToObjectFromJson<IntakeWorkItem>()!];
            return [.. items.Where(i => i is { Source.Length: > 0, Key.Length: > 0 }).Select(i => i with { FirstDelivery = dequeueCount == 1 })];
        }
        catch (JsonException)
        {
            return [];
        }
    }
}

/// <summary>
/// The intake queue (<c>{prefix}</c>, Base64 messages as the Functions queue trigger expects). Only a latency path:
/// losing a message delays processing until the sweeper finds the inbox row. A host that processes intake itself (the
/// standalone host's listener) attaches a local hand-off: what this process accepted goes straight to its own
/// processors in memory, without a queue message to send, receive and delete; the queue then carries only what the
/// hand-off cannot take (it is full) — and, as always, what other processes enqueue.
/// </summary>
public sealed class IntakeQueue(StorageClients storage, IOptions<IntakeOptions> options, IntakeRetries? retries = null)
{
    /// <summary>Most work items per queue message: the accept path costs about one storage write, not two.</summary>
    public const int MaxBatch = 64;

    private readonly QueueClient queue = storage.Queues.GetQueueClient(options.Value.QueueName);
    private readonly TimeSpan batchWindow = options.Value.QueueBatchWindow;
    private readonly Channel<IntakeWorkItem> pending = Channel.CreateUnbounded<IntakeWorkItem>(new UnboundedChannelOptions { SingleReader = true });
    private volatile bool ready;
    private TaskCompletionSource sent = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Channel<IntakeWorkItem>? local;
    private readonly ConcurrentDictionary<(string Source, string Key), byte> inHandOff = new();

    public string Name => queue.Name;

    /// <summary>
    /// Completes when this process next sends a message to the queue. The standalone host's listener takes it before
    /// receiving and, when the queue was empty, waits on it as well as on its idle back-off: work this host accepted is
    /// picked up at once instead of after up to a second of back-off (as the Functions queue trigger does for messages
    /// its own host added). Messages from other instances still arrive by polling.
    /// </summary>
    public Task NextSend => Volatile.Read(ref sent).Task;

    /// <summary>
    /// Hands the item to this process's own processors when a hand-off is attached and has room, else to the enqueue
    /// pump (both in memory: the inbox row, not this, is what is durable; the sweeper processes a row whose item is lost).
    /// </summary>
    public void Post(IntakeWorkItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (local is { } channel && inHandOff.TryAdd((item.Source, item.Key), 0))
        {
            if (channel.Writer.TryWrite(item))
            {
                return;
            }

            inHandOff.TryRemove((item.Source, item.Key), out _);
        }

        pending.Writer.TryWrite(item with { Row = null });
    }

    /// <summary>
    /// Whether the row is waiting in, or being processed from, this process's hand-off: the sweeper leaves it alone (a
    /// backlog older than the sweeper's re-drive delay is not lost work; processing it twice would only cost storage
    /// calls). A row lost with a crashed process is in no hand-off, so the sweeper takes it.
    /// </summary>
    public bool IsInHandOff(string source, string key) => inHandOff.ContainsKey((source, key));

    /// <summary>The hand-off's processor is done with the item (processed or failed: then the sweeper retries it).</summary>
    public void HandOffDone(IntakeWorkItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        inHandOff.TryRemove((item.Source, item.Key), out _);
    }

    /// <summary>
    /// Attaches the local hand-off (once per process): items posted from now on are read from the returned reader, up to
    /// <paramref name="capacity"/> waiting; beyond that they go to the queue.
    /// </summary>
    public ChannelReader<IntakeWorkItem> AttachLocalProcessing(int capacity)
    {
        var channel = Channel.CreateBounded<IntakeWorkItem>(new BoundedChannelOptions(Math.Max(1, capacity))
        {
            FullMode = BoundedChannelFullMode.Wait, // TryWrite then answers false: the item goes to the queue instead
            SingleWriter = false,
        });
        if (Interlocked.CompareExchange(ref local, channel, null) is not null)
        {
            throw new InvalidOperationException("A local intake hand-off is already attached.");
        }

        return channel.Reader;
    }

    /// <summary>
    /// Waits for posted items and sends them, up to <see cref="MaxBatch"/> per message, collecting for up to the batch
    /// window after the first. Returns how many were sent. When the send fails, the items are held for the sweeper's
    /// retries (<see cref="IntakeRetries"/>, when given) and the failure is thrown.
    /// </summary>
    public async Task<int> PumpOnceAsync(CancellationToken cancellationToken)
    {
        var batch = new List<IntakeWorkItem> { await pending.Reader.ReadAsync(cancellationToken) };
        var closes = Stopwatch.GetTimestamp() + (long)(batchWindow.TotalSeconds * Stopwatch.Frequency);
        while (batch.Count < MaxBatch)
        {
            if (pending.Reader.TryRead(out var more))
            {
                batch.Add(more);
                continue;
            }

            var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), closes);
            if (left <= TimeSpan.Zero)
            {
                break;
            }

            using var window = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            window.CancelAfter(left);
            try
            {
                await pending.Reader.WaitToReadAsync(window.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                break; // the window closed
            }
        }

        try
        {
            await SendAsync(batch, cancellationToken);
        }
        catch (Exception) when (retries is not null && !cancellationToken.IsCancellationRequested)
        {
            foreach (var item in batch)
            {
                retries.Failed(item);
            }

            throw;
        }

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
