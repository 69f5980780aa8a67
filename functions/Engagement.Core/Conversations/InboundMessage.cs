using System.Text.Json;
using System.Text.Json.Serialization;

namespace Engagement.Conversations;

/// <summary>
/// What a channel gateway posts to <c>POST /api/inbound/{channel}</c> (docs/inbound.md): a patient's reply
/// (<c>type = reply</c>) or a delivery receipt for one of our messages (<c>type = receipt</c>). <see cref="From"/>,
/// <see cref="To"/> and <see cref="Text"/> are PHI: stored only in the data tables, never logged.
/// </summary>
public sealed record InboundMessage
{
    public const int MaxTextLength = 1600;
    public const int MaxIdLength = 200;

    public static readonly IReadOnlySet<string> ReceiptStatuses = new HashSet<string>(StringComparer.Ordinal) { "delivered", "read", "failed", "bounced" };

    [JsonPropertyName("type")]
    public string? Type { get; init; }

    /// <summary>The gateway's own id for this reply or receipt: the idempotency key (with the channel, and the status for receipts).</summary>
    [JsonPropertyName("providerMessageId")]
    public string? ProviderMessageId { get; init; }

    [JsonPropertyName("from")]
    public string? From { get; init; }

    [JsonPropertyName("to")]
    public string? To { get; init; }

    [JsonPropertyName("text")]
    public string? Text { get; init; }

    /// <summary>Our outreach MessageId (the transport envelope carries it): what a reply answers, or what a receipt is about.</summary>
    [JsonPropertyName("messageId")]
    public string? MessageId { get; init; }

    [JsonPropertyName("status")]
    public string? Status { get; init; }

    /// <summary>The provider's reason for a failure (a code such as <c>mailbox-full</c>; no PHI).</summary>
    [JsonPropertyName("reason")]
    public string? Reason { get; init; }

    [JsonPropertyName("timestamp")]
    public DateTimeOffset? Timestamp { get; init; }

    public bool IsReceipt => Type == "receipt";

    /// <summary>Parses and checks the shape; the error says what is wrong (never echoing PHI).</summary>
    public static (InboundMessage? Message, string? Malformed, string? Invalid) Parse(ReadOnlySpan<byte> body)
    {
        InboundMessage? message;
        try
        {
            message = JsonSerializer.Deserialize<InboundMessage>(body);
        }
        catch (JsonException ex)
        {
            return (null, "The body is not valid JSON" + (ex.LineNumber is { } line ? $" (line {line + 1})." : "."), null);
        }

        if (message is null)
        {
            return (null, "The body must be a JSON object.", null);
        }

        return (message, null, message.Problem());
    }

    private string? Problem()
    {
        if (Type is not ("reply" or "receipt"))
        {
            return "'type' must be 'reply' or 'receipt'.";
        }

        if (string.IsNullOrWhiteSpace(ProviderMessageId) || ProviderMessageId.Length > MaxIdLength)
        {
            return $"'providerMessageId' is required (at most {MaxIdLength} characters).";
        }

        if (MessageId is { Length: > MaxIdLength })
        {
            return $"'messageId' is at most {MaxIdLength} characters.";
        }

        if (IsReceipt)
        {
            if (string.IsNullOrWhiteSpace(MessageId))
            {
                return "A receipt needs 'messageId': the outreach message it is about.";
            }

            return Status is not null && ReceiptStatuses.Contains(Status) ? null : "A receipt's 'status' must be one of delivered, read, failed, bounced.";
        }

        if (string.IsNullOrWhiteSpace(Text) || Text.Length > MaxTextLength)
        {
            return $"A reply needs 'text' (at most {MaxTextLength} characters).";
        }

        if (string.IsNullOrWhiteSpace(From) && string.IsNullOrWhiteSpace(MessageId))
        {
            return "A reply needs 'from' (the patient's address on this channel) or 'messageId'.";
        }

        return From is { Length: > 320 } ? "'from' is at most 320 characters." : null;
    }
}
