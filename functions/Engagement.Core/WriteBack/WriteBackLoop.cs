using Engagement.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Engagement.WriteBack;

/// <summary>Runs the write-back dispatcher every <see cref="WriteBackOptions.Interval"/> in either host.</summary>
public sealed class WriteBackLoop(WriteBackDispatcher dispatcher, IOptions<WriteBackOptions> options, ILogger<WriteBackLoop> logger)
    : PeriodicBackgroundService(logger)
{
    protected override TimeSpan Interval => options.Value.Interval;

    protected override string Work => "Write-back";

    protected override Task RunOnceAsync(CancellationToken stoppingToken) => dispatcher.DispatchPendingAsync(stoppingToken);
}
