using Engagement.Fhir;
using Engagement.FollowUp;
using Engagement.FollowUp.Engine;
using Engagement.Hosting;
using Engagement.Measures;
using Engagement.Outreach;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Options;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Conversations;

/// <summary>
/// A delivery receipt moves our outbound Communication: <c>delivered</c>/<c>read</c> → <c>completed</c> (with
/// <c>received</c>); <c>failed</c>/<c>bounced</c> → <c>not-done</c> with a <c>statusReason</c> (R4: the message was
/// not delivered; <c>entered-in-error</c> would claim the record itself is wrong). A failure then falls back to the
/// next channel the patient allows (preferred first, then their other channels in rank order) with the same content
/// and a new MessageId; with no channel left (or after an opt-out) the care team gets a Task instead.
/// </summary>
public sealed class ReceiptProcessor(
    OutboxStore outbox,
    IFhirResourceStore store,
    ConversationStore conversations,
    IOutreachConsent consent,
    FollowUpIndex index,
    TimeProvider time,
    IOptions<PreferenceDefaults> defaults,
    IOptionsMonitor<EngagementOptions> engagement,
    IEngagementRecorder measures)
{
    public const string DeliveryStatusSystem = FollowUpIds.Base + "/CodeSystem/engagement-delivery-status";

    public async Task<InboundResult> ApplyAsync(string channel, InboundMessage receipt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(receipt);
        var messageId = receipt.MessageId!;
        if (await store.GetAsync("Communication", messageId, cancellationToken) is not { Resource: Communication communication } stored
            || await outbox.GetAsync(messageId, cancellationToken) is not { } message)
        {
            return InboundResult.Unprocessable("Unknown messageId: no outbound message has that id.");
        }

        var now = time.GetUtcNow();
        var failed = receipt.Status is "failed" or "bounced";
        var body = new Dictionary<string, string?> { ["outcome"] = "receipt-" + receipt.Status, ["communication"] = "Communication/" + messageId };
        // Receipts may come late or out of order: a failure is final; delivered/read only move a message still in progress.
        var applies = failed ? communication.Status != EventStatus.NotDone : communication.Status == EventStatus.InProgress;
        if (applies)
        {
            if (failed)
            {
                communication.Status = EventStatus.NotDone;
                communication.StatusReason = new CodeableConcept(DeliveryStatusSystem, receipt.Status)
                {
                    Text = receipt.Reason is { Length: > 0 } reason ? reason[..Math.Min(reason.Length, 200)] : receipt.Status,
                };
            }
            else
            {
                communication.Status = EventStatus.Completed;
                communication.ReceivedElement = new FhirDateTime(receipt.Timestamp ?? now);
            }

            await store.PutAsync(communication, message.PatientId, cancellationToken, stored.ETag);
        }

        // Delivered / failed counts: one event per message and outcome (the event id makes redelivered receipts count once).
        if (message.Channel != "clinician" && receipt.Status is "delivered" or "failed" or "bounced")
        {
            var kind = failed ? EngagementEventKinds.MessageFailed : EngagementEventKinds.MessageDelivered;
            await measures.RecordAsync(new EngagementEvent
            {
                Id = kind + "-" + messageId,
                Kind = kind,
                OccurredAt = receipt.Timestamp ?? now,
                InstanceId = message.InstanceId,
                Protocol = message.ProtocolId,
                Language = message.Language,
                Channel = message.Channel,
            }, cancellationToken);
        }

        body["status"] = communication.Status?.ToString().ToLowerInvariant() switch { "notdone" => "not-done", var s => s };
        if (failed && message.Channel != "clinician")
        {
            await FallBackAsync(message, communication, body, now, cancellationToken);
        }

        return InboundResult.Ok(body);
    }

    private async Task FallBackAsync(OutreachMessage failed, Communication communication, Dictionary<string, string?> body, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var patientId = failed.PatientId;
        if (await consent.IsOptedOutAsync(patientId, cancellationToken))
        {
            body["fallback"] = "none: the patient opted out";
            return;
        }

        var patient = (await store.GetAsync("Patient", patientId, cancellationToken))?.Resource as Patient;
        var preferences = patient is null ? null : PatientPreferences.From(patient, defaults.Value);
        var next = patient is null ? null : NextChannel(patient, preferences!, failed.Channel);
        if (next is not { } found)
        {
            var task = ReplyProcessor.CareTeamTask("undeliverable-" + failed.MessageId[4..], patientId, "message-undeliverable",
                "A message to the patient could not be delivered on any channel they allow: contact them another way.",
                "Communication/" + failed.MessageId, now);
            task.BasedOn = [.. communication.BasedOn];
            await store.CreateIfNotExistsAsync(task, patientId, cancellationToken);
            body["fallback"] = null;
            body["task"] = "Task/" + task.Id;
            return;
        }

        // A failure reported outside the patient's contact window (an overnight bounce) does not reach them at once on the
        // next channel: the resend waits in the outbox until the window opens. On the protocol clock (the original send,
        // meant for a moment inside the window, is the anchor), so a shrunk test clock keeps the window in proportion.
        var sentFor = failed.NotBefore ?? failed.CreatedAt;
        var opens = sentFor == default ? null
            : FollowUpScheduler.WindowOpensAt(sentFor, now, preferences!.ContactWindow, preferences.TimeZone, engagement.CurrentValue.SecondsPerDay);
        var message = failed with
        {
            MessageId = OutreachMessage.CreateId(failed.MessageId, "fallback", found.Channel),
            Channel = found.Channel,
            To = found.Address,
            CreatedAt = now,
            NotBefore = opens,
        };
        // The Communication and the address first, the outbox row last: once the row exists the message can leave, and
        // the gateway's receipt or the patient's reply must find what they answer.
        await store.CreateIfNotExistsAsync(new Communication
        {
            Id = message.MessageId,
            Meta = communication.Meta,
            Identifier = [new Identifier(FollowUpIds.CommunicationIdentifierSystem, message.MessageId)],
            BasedOn = [.. communication.BasedOn],
            // The failed message this one replaces (partOf: the same communication event, resent).
            PartOf = [new ResourceReference("Communication/" + failed.MessageId)],
            Status = EventStatus.InProgress,
            Subject = communication.Subject,
            Recipient = [.. communication.Recipient],
            Medium = [new CodeableConcept(FollowUpIds.Base + "/CodeSystem/engagement-channel", found.Channel)],
            SentElement = new FhirDateTime(now),
            Language = communication.Language,
            Payload = [.. communication.Payload],
        }, patientId, cancellationToken);
        await conversations.RecordOutboundAsync(message, cancellationToken);
        await outbox.EnqueueAsync(message, cancellationToken);
        if (failed.InstanceId is { } instanceId)
        {
            await index.AppendAsync(instanceId, now, "fallback", null, $"{failed.Channel}->{found.Channel}", cancellationToken);
        }

        body["fallback"] = message.MessageId;
        body["fallbackChannel"] = found.Channel;
        if (opens is { } notBefore)
        {
            body["fallbackNotBefore"] = notBefore.ToString("o", System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <summary>The first channel after <paramref name="failedChannel"/> in the patient's order that has an address.</summary>
    internal static (string Channel, string Address)? NextChannel(Patient patient, PatientPreferences preferences, string failedChannel)
    {
        var order = new[] { preferences.PreferredChannel }.Concat(preferences.FallbackChannels).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        var position = order.IndexOf(failedChannel);
        foreach (var channel in order.Skip(position + 1).Where(c => c != failedChannel))
        {
            if (SendOutreachActivity.AddressFor(patient, channel) is { Length: > 0 } address)
            {
                return (channel, address);
            }
        }

        return null;
    }
}
