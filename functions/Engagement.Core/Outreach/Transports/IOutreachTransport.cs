namespace Engagement.Outreach.Transports;

/// <summary>Where outreach leaves us for the channel gateways: Service Bus in Azure, a Storage queue locally.</summary>
public interface IOutreachTransport
{
    /// <summary>Sends one message. Sending the same <see cref="OutreachMessage.MessageId"/> again must be harmless.</summary>
    Task SendAsync(OutreachMessage message, CancellationToken cancellationToken);
}
