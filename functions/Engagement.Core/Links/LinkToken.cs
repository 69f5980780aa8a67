using System.Buffers.Text;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;

namespace Engagement.Links;

/// <summary>
/// The compact engagement link token <c>{kid}.{linkId}.{mac}</c> (see docs/adr/0003-link-tokens.md): an opaque random
/// link id (128 bits) that names a stored link record, and a truncated HMAC-SHA256 (128 bits) over the key id and the
/// link id. Nothing about the patient is in it; everything else lives in the <c>Links</c> table.
/// </summary>
public static class LinkToken
{
    public const int LinkIdBytes = 16;
    public const int MacBytes = 16;
    private const int MaxKeyIdLength = 16;
    private const string Domain = "engagement-link-v1";

    /// <summary>A new random link id, base64url (22 characters).</summary>
    public static string NewLinkId() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(LinkIdBytes));

    public static bool IsValidKeyId([NotNullWhen(true)] string? keyId) =>
        keyId is { Length: > 0 and <= MaxKeyIdLength } && keyId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    public static bool IsValidLinkId([NotNullWhen(true)] string? linkId) =>
        linkId is { Length: 22 } && Base64Url.IsValid(linkId, out var length) && length == LinkIdBytes;

    public static string Create(string keyId, byte[] secret, string linkId)
    {
        if (!IsValidKeyId(keyId))
        {
            throw new ArgumentException("Link key ids are 1-16 characters of [A-Za-z0-9_-].", nameof(keyId));
        }

        if (!IsValidLinkId(linkId))
        {
            throw new ArgumentException("Not a link id.", nameof(linkId));
        }

        return $"{keyId}.{linkId}.{Base64Url.EncodeToString(Mac(secret, keyId, linkId))}";
    }

    /// <summary>Splits a token without checking its MAC. False for anything not shaped like a token.</summary>
    public static bool TryParse(string? token, [NotNullWhen(true)] out string? keyId, [NotNullWhen(true)] out string? linkId, [NotNullWhen(true)] out byte[]? mac)
    {
        keyId = linkId = null;
        mac = null;
        if (token is null || token.Length > 80)
        {
            return false;
        }

        var parts = token.Split('.');
        if (parts.Length != 3 || !IsValidKeyId(parts[0]) || !IsValidLinkId(parts[1]) || parts[2].Length != 22 || !Base64Url.IsValid(parts[2]))
        {
            return false;
        }

        var decoded = Base64Url.DecodeFromChars(parts[2]);
        if (decoded.Length != MacBytes)
        {
            return false;
        }

        keyId = parts[0];
        linkId = parts[1];
        mac = decoded;
        return true;
    }

    /// <summary>Constant-time check of the MAC with the given key's secret.</summary>
    public static bool Verify(byte[] secret, string keyId, string linkId, byte[] mac) =>
        CryptographicOperations.FixedTimeEquals(Mac(secret, keyId, linkId), mac);

    private static byte[] Mac(byte[] secret, string keyId, string linkId)
    {
        var full = HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes($"{Domain}|{keyId}|{linkId}"));
        return full[..MacBytes];
    }
}
