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
/// tries it is dropped and its rows are held for the sweeper's retries (<see cref="IntakeRetries"/>), as is a hand-off
/// item that fails.
/// </summary>
public sealed class IntakeQueueListener(IntakeQueue queue, IntakeProcessor processor, IntakeRetries retries, IOptions<IntakeOptions> options, ILogger<IntakeQueueListener> logger) : BackgroundService
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
                        var held = retries.Failed(item); // before leaving the hand-off: the backstop never sees it unowned
                        logger.LogWarning("Processing inbox row {InboxKey} from {Source} failed ({ExceptionType}); {Retry}.", item.Key, item.Source, ex.GetType().Name,
                            held ? "the sweeper tries it again" : "too many held for a retry: the backstop scan finds it");
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
                            // Held here for retries at a growing interval, rather than redelivered every visibility timeout.
                            foreach (var item in items)
                            {
                                retries.Failed(item);
                            }

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
/// Both hosts: sends the work items the accept path posted to the intake queue, batched. The rows of a message that could
/// not be sent are held for the sweeper's retries (<see cref="IntakeQueue.PumpOnceAsync"/>).
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
                logger.LogWarning("Enqueue to the intake queue failed ({ExceptionType}); the sweeper processes those rows.", ex.GetType().Name);
            }
        }
    }
}

/// <summary>
/// Both hosts: keeps every acknowledged delivery processed whatever happened to its hand-off or queue message, without
/// reading the whole inbox often (docs/reliability.md: that read, every 10 s, kept the soak's p99 from level). Two loops:
/// <list type="bullet">
/// <item>Every <see cref="IntakeOptions.SweepInterval"/>: the rows this process holds for a retry
/// (<see cref="IntakeRetries"/>) that are due are processed here. Before that, once at start, the inbox rows acknowledged
/// before this process started and still pending are taken in (a crash between acknowledge and processing); and every
/// <see cref="IntakeOptions.BackstopInterval"/>, those pending longer than <see cref="IntakeOptions.RedriveAfter"/> that
/// no one here holds (a message lost, an instance that never came back).</item>
/// <item>On its own timer, every <see cref="IntakeOptions.SweepInterval"/>: gaps whose grace period ended with no
/// notification since are declared and fetched.</item>
/// </list>
/// </summary>
public sealed class IntakeSweeper(
    InboxStore inbox,
    IntakeProcessor processor,
    IntakeQueue queue,
    IntakeRetries retries,
    IOptions<IntakeOptions> options,
    TimeProvider time,
    ILogger<IntakeSweeper> logger) : BackgroundService
{
    /// <summary>Most pending rows one scan takes in (the rest, the next scan).</summary>
    public const int MaxPerScan = 10_000;

    /// <summary>Most held rows one pass tries.</summary>
    public const int MaxPerPass = 2_000;

    private readonly DateTimeOffset started = time.GetUtcNow();
    private DateTimeOffset? nextScan;

    /// <summary>
    /// One pass: the start scan until it has succeeded once, the backstop scan when due (a failed scan is tried again at
    /// the next pass), then the held rows that are due, whether or not the scan succeeded. Returns how many rows it processed.
    /// </summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var scan = nextScan is null ? "start" : now >= nextScan ? "backstop" : null;
        if (scan is not null)
        {
            try
            {
                await ScanAsync(scan == "start" ? started : now - options.Value.RedriveAfter, scan, cancellationToken);
                nextScan = time.GetUtcNow() + options.Value.BackstopInterval;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                logger.LogWarning("Intake {Scan} scan failed ({ExceptionType}); tried again at the next pass.", scan, ex.GetType().Name);
            }
        }

        return await RetryDueAsync(cancellationToken);
    }

    private async Task ScanAsync(DateTimeOffset acknowledgedBefore, string scan, CancellationToken cancellationToken)
    {
        var found = 0;
        foreach (var (source, key) in await inbox.GetUnprocessedKeysAsync(acknowledgedBefore, MaxPerScan, cancellationToken))
        {
            if (queue.IsInHandOff(source, key) || retries.Contains(source, key))
            {
                continue; // this process is on it
            }

            if (!retries.Found(new IntakeWorkItem(source, key)))
            {
                break; // full: the next scan
            }

            found++;
        }

        if (found > 0 || scan == "start")
        {
            // At start: what a crash left (said also when nothing). Later: what every other way missed, worth a look.
            logger.Log(found > 0 && scan != "start" ? LogLevel.Warning : LogLevel.Information,
                "Intake {Scan} scan found {Count} acknowledged inbox rows not yet processed", scan, found);
        }
    }

    private async Task<int> RetryDueAsync(CancellationToken cancellationToken)
    {
        var processed = 0;
        var failed = 0;
        string? failure = null;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Clamp(options.Value.ProcessingConcurrency, 1, 32), CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(retries.Due(MaxPerPass), parallel, async (item, ct) =>
        {
            if (queue.IsInHandOff(item.Source, item.Key))
            {
                return; // a redelivery got there first; still held, it is read as processed next time
            }

            try
            {
                if (await processor.ProcessAsync(item, ct))
                {
                    Interlocked.Increment(ref processed);
                }

                retries.Done(item);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                retries.Failed(item);
                Interlocked.Increment(ref failed);
                failure = ex.GetType().Name;
            }
        });

        if (processed > 0)
        {
            logger.LogInformation("Sweeper processed {Count} inbox rows held for a retry", processed);
        }

        if (failed > 0)
        {
            // One line per pass, not per row: a storage outage fails every row held.
            logger.LogWarning("Sweeper could not process {Count} inbox rows held for a retry ({ExceptionType}); each is tried again later", failed, failure);
        }

        return processed;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Processing)
        {
            return Task.CompletedTask;
        }

        return Task.WhenAll(
            EveryAsync("Intake sweep", SweepAsync, stoppingToken),
            EveryAsync("Recovery of overdue gaps", processor.RecoverOverdueGapsAsync, stoppingToken));
    }

    private async Task EveryAsync(string work, Func<CancellationToken, Task<int>> pass, CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SweepInterval, time);
        try
        {
            do
            {
                try
                {
                    await pass(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // As PeriodicBackgroundService: a storage timeout (TaskCanceledException) must not end the loop.
                    logger.LogWarning("{Work} failed ({ExceptionType}); retrying.", work, ex.GetType().Name);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping (or a failed start, which cancels without a stop)
        }
    }
}
