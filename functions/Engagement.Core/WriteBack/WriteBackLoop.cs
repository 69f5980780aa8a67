using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Engagement.WriteBack;

/// <summary>Runs the write-back dispatcher every <see cref="WriteBackOptions.Interval"/> in either host.</summary>
public sealed class WriteBackLoop(WriteBackDispatcher dispatcher, IOptions<WriteBackOptions> options, ILogger<WriteBackLoop> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Interval);
        do
        {
            try
            {
                await dispatcher.DispatchPendingAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Storage unavailable: the rows stay pending and go on the next pass.
                logger.LogWarning("Write-back pass failed ({ExceptionType}); retrying.", ex.GetType().Name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
