using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Engagement.Hosting;

/// <summary>
/// A pass every <see cref="Interval"/> in either host; a failed pass (storage or a remote system unavailable) is logged
/// by exception type and the next pass tries again — what it had not finished is still pending in storage.
/// </summary>
public abstract class PeriodicBackgroundService(ILogger logger) : BackgroundService
{
    protected abstract TimeSpan Interval { get; }

    /// <summary>What a pass does, for the log line of a failed pass.</summary>
    protected abstract string Work { get; }

    protected abstract Task RunOnceAsync(CancellationToken stoppingToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        do
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // Every failure but our own stop: a storage or HTTP timeout surfaces as a TaskCanceledException, and
                // letting it through would end the loop for good (the messages would stay pending until a restart).
                logger.LogWarning("{Work} pass failed ({ExceptionType}); retrying.", Work, ex.GetType().Name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
