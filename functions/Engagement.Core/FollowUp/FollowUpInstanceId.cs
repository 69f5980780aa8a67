using System.Security.Cryptography;
using System.Text;

namespace Engagement.FollowUp;

/// <summary>Deterministic durable instance ids for follow-ups, so a redelivered trigger finds the run it started.</summary>
public static class FollowUpInstanceId
{
    public const string Prefix = "fu-";

    /// <summary>
    /// <c>fu-</c> and 32 lowercase hex digits (128 bits of SHA-256 over the inputs): the same inputs always give the
    /// same id, the id reveals none of them (no PHI), and it has only characters every durable backend accepts (the
    /// Azure Storage backend uses it in table keys, which reject <c>/ \ # ?</c> and control characters).
    /// </summary>
    public static string For(string protocolId, string patientId, string triggerResourceType, string triggerResourceId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(protocolId);
        ArgumentException.ThrowIfNullOrWhiteSpace(patientId);
        ArgumentException.ThrowIfNullOrWhiteSpace(triggerResourceType);
        ArgumentException.ThrowIfNullOrWhiteSpace(triggerResourceId);

        // Length-prefixed parts: ("a|b", "c") and ("a", "b|c") cannot collide.
        var text = new StringBuilder();
        foreach (var part in new[] { protocolId, patientId, triggerResourceType, triggerResourceId })
        {
            text.Append(part.Length).Append(':').Append(part).Append(';');
        }

        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()));
        return Prefix + Convert.ToHexStringLower(hash.AsSpan(0, 16));
    }
}
