using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Engagement.Intake;

/// <summary>
/// Standalone host: drains the intake queue (the Functions app uses a queue trigger instead). A message whose
/// processing fails becomes visible again after the visibility timeout; after five tries it is dropped and the
/// sweeper keeps re-driving the inbox row.
/// </summary>
public sealed class IntakeQueueListener(IntakeQueue queue, IntakeProcessor processor, IOptions<IntakeOptions> options, ILogger<IntakeQueueListener> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Processing)
        {
            return;
        }

        var idle = TimeSpan.FromMilliseconds(50);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var nextSend = queue.NextSend; // taken before receiving: a send during the receive ends the wait below
                var concurrency = Math.Clamp(options.Value.ProcessingConcurrency, 1, 32);
                var messages = await queue.ReceiveAsync(32, options.Value.QueueVisibilityTimeout, stoppingToken);
                idle = messages.Length > 0 ? TimeSpan.FromMilliseconds(50) : TimeSpan.FromMilliseconds(Math.Min(idle.TotalMilliseconds * 2, 1000));
                await Parallel.ForEachAsync(messages, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = stoppingToken }, async (message, ct) =>
                {
                    var items = IntakeWorkItem.ParseMany(message.Body);
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
public sealed class IntakeSweeper(InboxStore inbox, IntakeProcessor processor, IOptions<IntakeOptions> options, TimeProvider time, ILogger<IntakeSweeper> logger) : BackgroundService
{
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        var processed = 0;
        foreach (var item in await inbox.GetUnprocessedAsync(time.GetUtcNow() - options.Value.RedriveAfter, 100, cancellationToken))
        {
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
