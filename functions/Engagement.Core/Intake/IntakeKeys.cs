using System.Security.Cryptography;
using System.Text;

namespace Engagement.Intake;

/// <summary>
/// Deterministic keys: 32 lowercase hex digits of SHA-256 over length-prefixed parts. The same delivery always gets the
/// same key, keys reveal nothing (resource ids and subscription URLs stay out of table keys) and are safe in table keys.
/// </summary>
public static class IntakeKeys
{
    public static string For(params string?[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var text = new StringBuilder();
        foreach (var part in parts)
        {
            var value = part ?? "\0";
            text.Append(value.Length).Append(':').Append(value).Append(';');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())).AsSpan(0, 16));
    }

    public static string ForBytes(ReadOnlySpan<byte> body) => Convert.ToHexStringLower(SHA256.HashData(body).AsSpan(0, 16));
}
