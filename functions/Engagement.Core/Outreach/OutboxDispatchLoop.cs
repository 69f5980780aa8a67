using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Engagement.Outreach;

/// <summary>Runs the dispatcher every <see cref="OutreachOptions.DispatchInterval"/> in either host.</summary>
public sealed class OutboxDispatchLoop(OutboxDispatcher dispatcher, IOptions<OutreachOptions> options, ILogger<OutboxDispatchLoop> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.DispatchInterval);
        do
        {
            try
            {
                await dispatcher.DispatchPendingAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Storage or transport unavailable: the messages stay pending and go on the next pass.
                logger.LogWarning("Outbox dispatch pass failed ({ExceptionType}); retrying.", ex.GetType().Name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
