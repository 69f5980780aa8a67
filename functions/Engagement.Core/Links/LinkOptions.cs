namespace Engagement.Links;

/// <summary>
/// The <c>Engagement:Links</c> configuration section: HMAC signing keys for engagement link tokens.
/// <c>Engagement__Links__Keys__{n}__Id</c> / <c>__Secret</c> (Key Vault references in Azure) and
/// <c>Engagement__Links__ActiveKeyId</c>. New links are signed with the active key; a token signed with any
/// configured key validates; removing a key invalidates every link it signed.
/// </summary>
public sealed class LinkOptions
{
    public const string SectionName = "Engagement:Links";

    /// <summary>Secrets shorter than this many UTF-8 bytes are refused (HMAC-SHA256 wants at least 256 bits).</summary>
    public const int MinimumSecretBytes = 32;

    public List<LinkSigningKey> Keys { get; set; } = [];

    /// <summary>The key id new links are signed with. Defaults to the only key when exactly one is configured.</summary>
    public string? ActiveKeyId { get; set; }

    /// <summary>Lifetime when the caller (the protocol) does not pass one.</summary>
    public TimeSpan DefaultLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>The longest lifetime a link may be issued with.</summary>
    public TimeSpan MaximumLifetime { get; set; } = TimeSpan.FromDays(90);
}

public sealed class LinkSigningKey
{
    /// <summary>Key id written into the token: 1 to 16 characters of <c>[A-Za-z0-9_-]</c>.</summary>
    public string? Id { get; set; }

    /// <summary>The HMAC secret (at least 32 UTF-8 bytes; a Key Vault secret in Azure).</summary>
    public string? Secret { get; set; }
}
