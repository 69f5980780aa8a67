using System.Diagnostics;
using Engagement.Measures;
using Engagement.Outreach.Transports;
using Engagement.Telemetry;
using Microsoft.Extensions.Logging;

namespace Engagement.Outreach;

/// <summary>
/// Hands pending outbox messages to the transport, then marks them sent. A crash between the two resends the
/// message on the next pass — never loses it; the transport (or the gateway) drops the repeat by MessageId.
/// </summary>
public sealed class OutboxDispatcher(OutboxStore outbox, IOutreachTransport transport, TimeProvider time, IEngagementRecorder recorder, ILogger<OutboxDispatcher> logger)
{
    private const int BatchSize = 100;

    /// <summary>One pass over every shard. Returns how many messages were sent.</summary>
    public async Task<int> DispatchPendingAsync(CancellationToken cancellationToken)
    {
        var sent = 0;
        for (var shard = 0; shard < OutboxStore.ShardCount; shard++)
        {
            foreach (var entry in await outbox.GetPendingAsync(shard, BatchSize, cancellationToken))
            {
                using var span = EngagementTelemetry.StartContinued("outreach.dispatch", ActivityKind.Producer, entry.Message.TraceParent);
                span?.SetTag("engagement.message", entry.Message.MessageId);
                span?.SetTag("engagement.channel", entry.Message.Channel);
                await transport.SendAsync(entry.Message, cancellationToken);
                var sentAt = time.GetUtcNow();
                if (entry.Message.Channel != "clinician")
                {
                    // Patient messages only; the event id is the message id, so a resend after a crash counts once.
                    await recorder.RecordAsync(new EngagementEvent
                    {
                        Id = entry.Message.MessageId,
                        Kind = EngagementEventKinds.MessageSent,
                        OccurredAt = entry.Message.CreatedAt == default ? sentAt : entry.Message.CreatedAt,
                        InstanceId = entry.Message.InstanceId,
                        Protocol = entry.Message.ProtocolId,
                        Language = entry.Message.Language,
                        Channel = entry.Message.Channel,
                    }, cancellationToken);
                }

                await outbox.MarkSentAsync(entry, sentAt, cancellationToken);
                EngagementTelemetry.MessagesSent.Add(1,
                    new KeyValuePair<string, object?>("channel", entry.Message.Channel),
                    new KeyValuePair<string, object?>("language", entry.Message.Language));
                logger.LogInformation("Outreach {MessageId} sent on {Channel}", entry.Message.MessageId, entry.Message.Channel);
                sent++;
            }
        }

        return sent;
    }
}
