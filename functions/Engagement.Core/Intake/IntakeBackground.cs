using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Engagement.Intake;

/// <summary>
/// Standalone host: processes what this host accepted through the in-memory hand-off (<see cref="IntakeQueue.AttachLocalProcessing"/>)
/// and drains the intake queue of what arrives there (the hand-off's overflow, other processes' work); the Functions app
/// uses a queue trigger instead. At most <see cref="IntakeOptions.ProcessingConcurrency"/> rows are worked on at once
/// across both. A queue message whose processing fails becomes visible again after the visibility timeout; after five
/// tries it is dropped and the sweeper keeps re-driving the inbox row. A hand-off item that fails is left to the sweeper.
/// </summary>
public sealed class IntakeQueueListener(IntakeQueue queue, IntakeProcessor processor, IOptions<IntakeOptions> options, ILogger<IntakeQueueListener> logger) : BackgroundService
{
    /// <summary>Hand-off items waiting beyond this go to the queue instead (bounded memory under a burst).</summary>
    public const int LocalCapacity = 4096;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Processing)
        {
            return;
        }

        using var slots = new SemaphoreSlim(Math.Clamp(options.Value.ProcessingConcurrency, 1, 32));
        var local = queue.AttachLocalProcessing(LocalCapacity);
        try
        {
            await Task.WhenAll(ProcessLocalAsync(local, slots, stoppingToken), DrainQueueAsync(slots, stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping ends the loops. Also when the host failed to start (a port taken): it then cancels without a stop,
            // and a cancellation let out would be logged as this service failing, above the real reason.
        }
    }

    private async Task ProcessLocalAsync(ChannelReader<IntakeWorkItem> local, SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var item in local.ReadAllAsync(stoppingToken))
            {
                await slots.WaitAsync(stoppingToken);
                _ = Task.Run(async () =>
                {
                    try
                    {
                        await processor.ProcessAsync(item, stoppingToken);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                    {
                        logger.LogWarning("Processing inbox row {InboxKey} from {Source} failed ({ExceptionType}); the sweeper retries it.", item.Key, item.Source, ex.GetType().Name);
                    }
                    finally
                    {
                        queue.HandOffDone(item);
                        slots.Release();
                    }
                }, CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping; what was waiting in memory is still pending in the inbox
        }
    }

    private async Task DrainQueueAsync(SemaphoreSlim slots, CancellationToken stoppingToken)
    {
        var idle = TimeSpan.FromMilliseconds(50);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var nextSend = queue.NextSend; // taken before receiving: a send during the receive ends the wait below
                var messages = await queue.ReceiveAsync(32, options.Value.QueueVisibilityTimeout, stoppingToken);
                idle = messages.Length > 0 ? TimeSpan.FromMilliseconds(50) : TimeSpan.FromMilliseconds(Math.Min(idle.TotalMilliseconds * 2, 1000));
                await Parallel.ForEachAsync(messages, stoppingToken, async (message, ct) =>
                {
                    var items = IntakeWorkItem.ParseMany(message.Body, message.DequeueCount);
                    await slots.WaitAsync(ct);
                    try
                    {
                        await IntakeProcessor.ProcessAllAsync(processor, items, ct);
                        await queue.DeleteAsync(message, ct);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
                    {
                        logger.LogWarning("Processing a batch of {Count} inbox rows failed ({ExceptionType}), try {DequeueCount}", items.Count, ex.GetType().Name, message.DequeueCount);
                        if (message.DequeueCount >= 5)
                        {
                            await queue.DeleteAsync(message, ct);
                        }
                    }
                    finally
                    {
                        slots.Release();
                    }
                });
                if (messages.Length == 0)
                {
                    await Task.WhenAny(nextSend, Task.Delay(idle, stoppingToken));
                    stoppingToken.ThrowIfCancellationRequested();
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Intake queue unavailable ({ExceptionType}); retrying.", ex.GetType().Name);
                await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken);
            }
        }
    }
}

/// <summary>
/// Both hosts: sends the work items the accept path posted to the intake queue, batched. A failure leaves the inbox rows
/// pending; the sweeper processes them.
/// </summary>
public sealed class IntakeEnqueuePump(IntakeQueue queue, ILogger<IntakeEnqueuePump> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await queue.PumpOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning("Enqueue to the intake queue failed ({ExceptionType}); the sweeper will process those rows.", ex.GetType().Name);
            }
        }
    }
}

/// <summary>
/// Both hosts: every <see cref="IntakeOptions.SweepInterval"/>, processes inbox rows still unprocessed
/// <see cref="IntakeOptions.RedriveAfter"/> after they were acknowledged — a crash between acknowledge and enqueue,
/// a lost message, or processing that kept failing. Durability comes from the inbox rows, not from memory or the queue.
/// </summary>
public sealed class IntakeSweeper(InboxStore inbox, IntakeProcessor processor, IntakeQueue queue, IOptions<IntakeOptions> options, TimeProvider time, ILogger<IntakeSweeper> logger) : BackgroundService
{
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var processed = 0;
        foreach (var item in await inbox.GetUnprocessedAsync(time.GetUtcNow() - options.Value.RedriveAfter, 100, cancellationToken))
        {
            if (queue.IsInHandOff(item.Source, item.Key))
            {
                continue; // this process is on it
            }

            try
            {
                processed += await processor.ProcessAsync(new IntakeWorkItem(item.Source, item.Key), cancellationToken) ? 1 : 0;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                logger.LogWarning("Sweeper could not process inbox row {InboxKey} from {Source} ({ExceptionType})", item.Key, item.Source, ex.GetType().Name);
            }
        }

        if (processed > 0)
        {
            logger.LogInformation("Sweeper processed {Count} inbox rows left unprocessed", processed);
        }

        // Gaps whose grace period ended with no notification since: declare and fetch them now.
        try
        {
            await processor.RecoverOverdueGapsAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("Sweeper could not recover overdue gaps ({ExceptionType})", ex.GetType().Name);
        }

        return processed;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Processing)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.Value.SweepInterval);
        do
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // As PeriodicBackgroundService: a storage timeout (TaskCanceledException) must not end the sweeper.
                logger.LogWarning("Intake sweep failed ({ExceptionType}); retrying.", ex.GetType().Name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
