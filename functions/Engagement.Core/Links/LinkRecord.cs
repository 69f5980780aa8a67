namespace Engagement.Links;

/// <summary>
/// One engagement link as stored (table <c>Links</c>, one row per link id). Ids only: the patient id, Task id,
/// Questionnaire canonical and follow-up instance the link is bound to, its lifetime and what happened to it.
/// </summary>
public sealed class LinkRecord
{
    public required string LinkId { get; init; }

    public required string PatientId { get; init; }

    public required string TaskId { get; init; }

    public required string QuestionnaireCanonical { get; init; }

    public required string InstanceId { get; init; }

    /// <summary>The key id the token was signed with (for audits of a key rotation).</summary>
    public required string KeyId { get; init; }

    public required DateTimeOffset IssuedAt { get; init; }

    public required DateTimeOffset ExpiresAt { get; init; }

    public int OpenCount { get; set; }

    public DateTimeOffset? FirstOpenedAt { get; set; }

    public DateTimeOffset? LastOpenedAt { get; set; }

    public DateTimeOffset? UsedAt { get; set; }

    public DateTimeOffset? RevokedAt { get; set; }

    /// <summary>The stored version; conditional updates send it back.</summary>
    public string? ETag { get; set; }

    /// <summary>Why this link cannot be used at <paramref name="now"/>, or null when it can.</summary>
    public LinkFailure? Failure(DateTimeOffset now) =>
        RevokedAt is not null ? LinkFailure.Revoked
        : UsedAt is not null ? LinkFailure.Used
        : now >= ExpiresAt ? LinkFailure.Expired
        : null;

    /// <summary>
    /// Why this link cannot show or change the patient's preferences at <paramref name="now"/>: revoked or expired.
    /// The one submission being used does not end it (the page stays the patient's preferences page until expiry).
    /// </summary>
    public LinkFailure? PreferencesFailure(DateTimeOffset now) =>
        RevokedAt is not null ? LinkFailure.Revoked
        : now >= ExpiresAt ? LinkFailure.Expired
        : null;

    public LinkRecord Copy() => (LinkRecord)MemberwiseClone();
}

/// <summary>Why a link token was refused. <see cref="Forged"/> is 401; the others are 410 (the link is gone for good).</summary>
public enum LinkFailure
{
    /// <summary>Not a token we signed with a configured key (malformed, tampered, unknown or removed key).</summary>
    Forged,

    /// <summary>Signed by us but no record exists (never stored or deleted).</summary>
    Unknown,

    Expired,
    Revoked,

    /// <summary>A response was already submitted with this link.</summary>
    Used,
}
