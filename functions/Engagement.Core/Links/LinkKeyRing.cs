using System.Security.Cryptography;
using System.Text;
using Engagement.Hosting;
using Microsoft.Extensions.Options;

namespace Engagement.Links;

/// <summary>
/// The configured link signing keys, read on every use so a configuration reload rotates them. When no link key is
/// configured at all, links are signed with a key derived from <c>Engagement:AdminKey</c> (HKDF-SHA256, its own
/// label; key id <see cref="DerivedKeyId"/>): a deployment with only the contract's settings still issues links, and
/// rotating the admin key invalidates them. Configured keys always take precedence for new links.
/// </summary>
public sealed class LinkKeyRing(IOptionsMonitor<LinkOptions> options, IOptionsMonitor<EngagementOptions>? engagement = null)
{
    /// <summary>Key id of the key derived from the admin key.</summary>
    public const string DerivedKeyId = "admin";

    private static readonly byte[] DerivationLabel = Encoding.UTF8.GetBytes("engagement-functions/link-signing/v1");

    /// <summary>The secret of a configured, well-formed key (or the derived one); null for unknown or removed keys.</summary>
    public byte[]? FindSecret(string keyId)
    {
        foreach (var key in options.CurrentValue.Keys)
        {
            if (string.Equals(key.Id, keyId, StringComparison.Ordinal) && TryGetSecret(key, out var secret))
            {
                return secret;
            }
        }

        return string.Equals(keyId, DerivedKeyId, StringComparison.Ordinal) ? DerivedSecret() : null;
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

        if (string.IsNullOrEmpty(activeId) && current.Keys.Count == 0 && DerivedSecret() is { } derived)
        {
            return (DerivedKeyId, derived);
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

    private byte[]? DerivedSecret() =>
        engagement?.CurrentValue.AdminKey is { Length: > 0 } adminKey
            ? HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(adminKey), 32, salt: [], info: DerivationLabel)
            : null;

    private static bool TryGetSecret(LinkSigningKey key, out byte[] secret)
    {
        secret = key.Secret is null ? [] : Encoding.UTF8.GetBytes(key.Secret);
        return LinkToken.IsValidKeyId(key.Id) && secret.Length >= LinkOptions.MinimumSecretBytes;
    }
}
