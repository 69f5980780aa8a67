using System.Text.Json;
using System.Text.Json.Serialization;

namespace Engagement.Outreach.Transports;

/// <summary>The JSON a channel gateway receives (both transports carry the same body).</summary>
public sealed record OutreachEnvelope(
    [property: JsonPropertyName("messageId")] string MessageId,
    [property: JsonPropertyName("patientId")] string PatientId,
    [property: JsonPropertyName("channel")] string Channel,
    [property: JsonPropertyName("language")] string Language,
    [property: JsonPropertyName("to")] string To,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("template")] string Template,
    [property: JsonPropertyName("link")] string? Link)
{
    public static OutreachEnvelope From(OutreachMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return new(message.MessageId, message.PatientId, message.Channel, message.Language, message.To, message.Text, message.TemplateCode, message.Link);
    }

    public BinaryData ToBinaryData() => BinaryData.FromString(JsonSerializer.Serialize(this));
}
