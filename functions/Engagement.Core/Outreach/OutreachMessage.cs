using System.Security.Cryptography;
using System.Text;

namespace Engagement.Outreach;

/// <summary>
/// One message to one patient on one channel. <see cref="MessageId"/> is deterministic (from the orchestration
/// instance, the activity and the attempt), so deciding to send twice enqueues once and the transport drops
/// duplicates. <see cref="To"/> and <see cref="Text"/> are PHI: never logged, never in telemetry.
/// </summary>
public sealed record OutreachMessage
{
    public required string MessageId { get; init; }

    public required string PatientId { get; init; }

    /// <summary><c>sms</c>, <c>email</c>, <c>push</c>, <c>portal</c>, or <c>clinician</c> for care-team escalations.</summary>
    public required string Channel { get; init; }

    public required string Language { get; init; }

    public required string TemplateCode { get; init; }

    /// <summary>The address on that channel (phone, email, device or portal id, care-team queue).</summary>
    public required string To { get; init; }

    public required string Text { get; init; }

    public string? Link { get; init; }

    public string? ProtocolId { get; init; }

    public string? InstanceId { get; init; }

    public string? ActivityId { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>
    /// Not handed to the transport before this instant: a message decided outside the patient's contact window (a
    /// fallback after a failed delivery) waits in the outbox until the window opens. Null: as soon as possible.
    /// </summary>
    public DateTimeOffset? NotBefore { get; init; }

    /// <summary>W3C traceparent of the span that decided to send (telemetry: dispatch continues that trace).</summary>
    public string? TraceParent { get; init; }

    /// <summary>A stable id from the parts that make a message unique (hashed: no PHI in ids).</summary>
    public static string CreateId(params string[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\u001f', parts)));
        return "msg-" + Convert.ToHexStringLower(hash.AsSpan(0, 16));
    }
}
