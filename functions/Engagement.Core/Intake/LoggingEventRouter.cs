using Microsoft.Extensions.Logging;

namespace Engagement.Intake;

/// <summary>Default router until the follow-up engine registers its own: logs ids only (never the resource).</summary>
public sealed class LoggingEventRouter(ILogger<LoggingEventRouter> logger) : IEventRouter
{
    public Task RouteAsync(ClinicalEvent clinicalEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(clinicalEvent);
        logger.LogInformation(
            "Event {EventId} from {Source}: {ResourceType}/{ResourceId} version {VersionId} {Kind}, event number {EventNumber}",
            clinicalEvent.EventId, clinicalEvent.Source, clinicalEvent.ResourceType, clinicalEvent.ResourceId,
            clinicalEvent.VersionId, clinicalEvent.Kind, clinicalEvent.EventNumber);
        return Task.CompletedTask;
    }
}
