using Azure.Messaging.ServiceBus;

namespace Engagement.Outreach.Transports;

/// <summary>
/// Azure transport: a Service Bus queue with duplicate detection and sessions. <c>MessageId</c> is ours
/// (deterministic) so a resend after a crash is dropped by the broker; <c>SessionId</c> is the patient, so one
/// patient's messages are delivered in order; channel and language ride as application properties for routing.
/// </summary>
public sealed class ServiceBusOutreachTransport(ServiceBusSender sender) : IOutreachTransport
{
    public Task SendAsync(OutreachMessage message, CancellationToken cancellationToken) =>
        sender.SendMessageAsync(CreateMessage(message), cancellationToken);

    public static ServiceBusMessage CreateMessage(OutreachMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var busMessage = new ServiceBusMessage(OutreachEnvelope.From(message).ToBinaryData())
        {
            MessageId = message.MessageId,
            SessionId = message.PatientId,
            ContentType = "application/json",
            Subject = message.TemplateCode,
        };
        busMessage.ApplicationProperties["channel"] = message.Channel;
        busMessage.ApplicationProperties["language"] = message.Language;
        return busMessage;
    }
}
