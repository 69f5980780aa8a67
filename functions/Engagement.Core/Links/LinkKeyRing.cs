using System.Text;
using Microsoft.Extensions.Options;

namespace Engagement.Links;

/// <summary>The configured link signing keys, read on every use so a configuration reload rotates them.</summary>
public sealed class LinkKeyRing(IOptionsMonitor<LinkOptions> options)
{
    /// <summary>The secret of a configured, well-formed key; null for unknown or removed keys.</summary>
    public byte[]? FindSecret(string keyId)
    {
        foreach (var key in options.CurrentValue.Keys)
        {
            if (string.Equals(key.Id, keyId, StringComparison.Ordinal) && TryGetSecret(key, out var secret))
            {
                return secret;
            }
        }

        return null;
    }

    /// <summary>The key new links are signed with.</summary>
    public (string KeyId, byte[] Secret) Active()
    {
        var current = options.CurrentValue;
        var activeId = current.ActiveKeyId;
        if (string.IsNullOrEmpty(activeId))
        {
            activeId = current.Keys.Count == 1 ? current.Keys[0].Id : null;
        }

        if (string.IsNullOrEmpty(activeId))
        {
            throw new InvalidOperationException("Engagement:Links:ActiveKeyId is not set (and not exactly one link key is configured).");
        }

        if (!LinkToken.IsValidKeyId(activeId))
        {
            throw new InvalidOperationException("Engagement:Links:ActiveKeyId must be 1-16 characters of [A-Za-z0-9_-].");
        }

        return FindSecret(activeId) is { } secret
            ? (activeId, secret)
            : throw new InvalidOperationException(
                $"The active link key '{activeId}' is not configured with a secret of at least {LinkOptions.MinimumSecretBytes} bytes.");
    }

    private static bool TryGetSecret(LinkSigningKey key, out byte[] secret)
    {
        secret = key.Secret is null ? [] : Encoding.UTF8.GetBytes(key.Secret);
        return LinkToken.IsValidKeyId(key.Id) && secret.Length >= LinkOptions.MinimumSecretBytes;
    }
}
