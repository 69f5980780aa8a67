using System.Collections.Concurrent;
using System.Diagnostics;
using Engagement.Fhir;
using Engagement.FollowUp.Engine;
using Engagement.Measures;
using Engagement.Outreach.Transports;
using Engagement.Telemetry;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Logging;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Outreach;

/// <summary>
/// Hands pending outbox messages to the transport, then marks them sent. A crash between the two resends the
/// message on the next pass — never loses it; the transport (or the gateway) drops the repeat by MessageId.
/// Protocol outreach to a patient who opted out after it was decided (a STOP that arrived while the send step ran)
/// is withheld here, at the last moment: the row is marked <see cref="OutboxStore.Suppressed"/> and its
/// Communication <c>not-done</c>. Replies to the patient's own message (the opt-out confirmation, HELP) and
/// messages to the care team always go.
/// </summary>
public sealed class OutboxDispatcher(
    OutboxStore outbox,
    IOutreachTransport transport,
    IOutreachConsent consent,
    IFhirResourceStore store,
    TimeProvider time,
    IEngagementRecorder recorder,
    ILogger<OutboxDispatcher> logger)
{
    public const string ClinicianChannel = "clinician";

    private const int BatchSize = 100;

    /// <summary>
    /// One pass over every shard, the shards concurrently and each shard's messages one at a time (so at most one message
    /// per shard is in flight: a crash can repeat at most that one). Returns how many messages were sent.
    /// </summary>
    public async Task<int> DispatchPendingAsync(CancellationToken cancellationToken)
    {
        // Patients found opted out in this pass. Only "yes" is remembered: a "no" is read again for every message, so a
        // STOP stored while the pass runs is seen by the next message.
        var optedOut = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        var sent = await Task.WhenAll(Enumerable.Range(0, OutboxStore.ShardCount).Select(shard => DispatchShardAsync(shard, optedOut, cancellationToken)));
        return sent.Sum();
    }

    private async Task<int> DispatchShardAsync(int shard, ConcurrentDictionary<string, bool> optedOut, CancellationToken cancellationToken)
    {
        var sent = 0;
        foreach (var entry in await outbox.GetPendingAsync(shard, BatchSize, cancellationToken))
        {
            using var span = EngagementTelemetry.StartContinued("outreach.dispatch", ActivityKind.Producer, entry.Message.TraceParent);
            span?.SetTag("engagement.message", entry.Message.MessageId);
            span?.SetTag("engagement.channel", entry.Message.Channel);
            // A stop is honoured between messages, never inside one: a send cancelled after the transport took the
            // message would leave it unmarked, and the next pass would send it again.
            cancellationToken.ThrowIfCancellationRequested();
            if (entry.Message.NotBefore is { } notBefore && notBefore > time.GetUtcNow())
            {
                continue; // waiting for the patient's contact window: still pending, a later pass sends it
            }

            if (IsProtocolOutreach(entry.Message) && await IsOptedOutAsync(entry.Message.PatientId, optedOut))
            {
                await SuppressAsync(entry);
                span?.SetTag("engagement.suppressed", true);
                continue;
            }

            await transport.SendAsync(entry.Message, CancellationToken.None);
            var sentAt = time.GetUtcNow();
            if (!string.Equals(entry.Message.Channel, ClinicianChannel, StringComparison.Ordinal))
            {
                // Patient messages only (a withheld one is not counted); the event id is the message id, so a resend
                // after a crash counts once.
                await recorder.RecordAsync(new EngagementEvent
                {
                    Id = entry.Message.MessageId,
                    Kind = EngagementEventKinds.MessageSent,
                    OccurredAt = entry.Message.CreatedAt == default ? sentAt : entry.Message.CreatedAt,
                    InstanceId = entry.Message.InstanceId,
                    Protocol = entry.Message.ProtocolId,
                    Language = entry.Message.Language,
                    Channel = entry.Message.Channel,
                }, CancellationToken.None);
            }

            await outbox.MarkSentAsync(entry, sentAt, CancellationToken.None);
            EngagementTelemetry.MessagesSent.Add(1,
                new KeyValuePair<string, object?>("channel", entry.Message.Channel),
                new KeyValuePair<string, object?>("language", entry.Message.Language));
            logger.LogInformation("Outreach {MessageId} sent on {Channel}", entry.Message.MessageId, entry.Message.Channel);
            sent++;
        }

        return sent;
    }

    /// <summary>A message a protocol run sends to the patient (not a reply to them, not to the care team).</summary>
    internal static bool IsProtocolOutreach(OutreachMessage message) =>
        message.InstanceId is not null && !string.Equals(message.Channel, ClinicianChannel, StringComparison.Ordinal);

    private async Task<bool> IsOptedOutAsync(string patientId, ConcurrentDictionary<string, bool> optedOut)
    {
        if (optedOut.ContainsKey(patientId))
        {
            return true;
        }

        if (await consent.IsOptedOutAsync(patientId, CancellationToken.None))
        {
            optedOut[patientId] = true;
            return true;
        }

        return false;
    }

    private async Task SuppressAsync(OutboxEntry entry)
    {
        var now = time.GetUtcNow();
        await outbox.MarkSuppressedAsync(entry, now, "opted-out", CancellationToken.None);
        if (await store.GetAsync("Communication", entry.Message.MessageId, CancellationToken.None) is { Resource: Communication communication }
            && communication.Status is EventStatus.InProgress or EventStatus.Preparation)
        {
            communication.Status = EventStatus.NotDone;
            communication.StatusReason = new CodeableConcept("http://terminology.hl7.org/CodeSystem/communication-not-done-reason", "patient-objection", "Patient objection") { Text = "The patient opted out before it was sent." };
            await store.PutAsync(communication, entry.Message.PatientId, CancellationToken.None);
        }

        EngagementTelemetry.MessagesSuppressed.Add(1, new KeyValuePair<string, object?>("channel", entry.Message.Channel));
        logger.LogInformation("Outreach {MessageId} withheld: the patient opted out after it was decided", entry.Message.MessageId);
    }
}
