using Engagement.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Engagement.Outreach;

/// <summary>Runs the dispatcher every <see cref="OutreachOptions.DispatchInterval"/> in either host.</summary>
public sealed class OutboxDispatchLoop(OutboxDispatcher dispatcher, IOptions<OutreachOptions> options, ILogger<OutboxDispatchLoop> logger)
    : PeriodicBackgroundService(logger)
{
    protected override TimeSpan Interval => options.Value.DispatchInterval;

    protected override string Work => "Outbox dispatch";

    protected override Task RunOnceAsync(CancellationToken stoppingToken) => dispatcher.DispatchPendingAsync(stoppingToken);
}
