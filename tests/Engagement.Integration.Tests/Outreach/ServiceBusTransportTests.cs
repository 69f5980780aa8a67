using Azure.Messaging.ServiceBus;
using Engagement.Outreach;
using Engagement.Outreach.Transports;

namespace Engagement.Integration.Tests.Outreach;

/// <summary>
/// No Service Bus emulator runs here: the Service Bus transport is tested at the SDK boundary — the messages it
/// builds and hands to <see cref="ServiceBusSender"/>.
/// </summary>
public sealed class ServiceBusTransportTests
{
    private static readonly OutreachMessage Message = new()
    {
        MessageId = OutreachMessage.CreateId("instance-9", "day7", "0"),
        PatientId = "pat-42",
        Channel = "email",
        Language = "en",
        TemplateCode = "questionnaire",
        To = "someone@example.test",
        Text = "Your care team has a few questions",
        Link = "https://example.test/engage/t",
        CreatedAt = DateTimeOffset.UnixEpoch,
    };

    [Fact]
    public void Message_id_is_ours_session_is_the_patient_and_routing_properties_are_set()
    {
        var built = ServiceBusOutreachTransport.CreateMessage(Message);

        Assert.Equal(Message.MessageId, built.MessageId);
        Assert.Equal("pat-42", built.SessionId);
        Assert.Equal("application/json", built.ContentType);
        Assert.Equal("email", built.ApplicationProperties["channel"]);
        Assert.Equal("en", built.ApplicationProperties["language"]);
        var envelope = built.Body.ToObjectFromJson<OutreachEnvelope>()!;
        Assert.Equal("someone@example.test", envelope.To);
        Assert.Equal(Message.MessageId, envelope.MessageId);
    }

    [Fact]
    public async Task The_transport_hands_exactly_that_message_to_the_sender()
    {
        var sender = new RecordingSender();
        await new ServiceBusOutreachTransport(sender).SendAsync(Message, default);

        var sent = Assert.Single(sender.Sent);
        Assert.Equal(Message.MessageId, sent.MessageId);
        Assert.Equal("pat-42", sent.SessionId);
    }

    private sealed class RecordingSender : ServiceBusSender
    {
        public List<ServiceBusMessage> Sent { get; } = [];

        public override Task SendMessageAsync(ServiceBusMessage message, CancellationToken cancellationToken = default)
        {
            Sent.Add(message);
            return Task.CompletedTask;
        }
    }
}
