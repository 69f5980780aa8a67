using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Logging;

namespace Engagement.Links;

/// <summary>What a valid link is bound to, and the version of its record that was checked.</summary>
public sealed record LinkContext(
    string LinkId,
    string PatientId,
    string TaskId,
    string QuestionnaireCanonical,
    string InstanceId,
    DateTimeOffset ExpiresAt,
    string ETag);

/// <summary>Either a <see cref="LinkContext"/> or the reason the token was refused.</summary>
public sealed record LinkValidation(LinkContext? Context, LinkFailure? Failure)
{
    [MemberNotNullWhen(true, nameof(Context))]
    [MemberNotNullWhen(false, nameof(Failure))]
    public bool IsValid => Context is not null;

    public static LinkValidation Valid(LinkContext context) => new(context, null);

    public static LinkValidation Refused(LinkFailure failure) => new(null, failure);
}

/// <summary>
/// Checks engagement link tokens: the MAC with a configured key (else <see cref="LinkFailure.Forged"/>), then the
/// stored record (revoked, used, expired). Opening is unlimited and counted; a submission marks the link used with an
/// ETag-conditional replace, so of two concurrent submissions one succeeds and the other sees <see cref="LinkFailure.Used"/>.
/// </summary>
public sealed class LinkValidator(ILinkStore store, LinkKeyRing keys, TimeProvider clock, ILogger<LinkValidator> logger)
{
    private const int MaxConflictRetries = 8;

    /// <summary>For the page: validates and records the open (count, first and last time).</summary>
    public Task<LinkValidation> ValidateForViewAsync(string token, CancellationToken cancellationToken) =>
        ValidateAsync(token, recordOpen: true, cancellationToken);

    /// <summary>Validates without recording anything (the page's API calls, a submission before <see cref="MarkUsedAsync"/>).</summary>
    public Task<LinkValidation> ValidateAsync(string token, CancellationToken cancellationToken) =>
        ValidateAsync(token, recordOpen: false, cancellationToken);

    /// <summary>
    /// For the patient's preferences and overview: like <see cref="ValidateAsync(string, CancellationToken)"/> but a
    /// link whose one submission was used still passes (forged, unknown, revoked and expired links do not).
    /// Records nothing.
    /// </summary>
    public async Task<LinkValidation> ValidateForPreferencesAsync(string token, CancellationToken cancellationToken)
    {
        if (!TryAuthenticate(token, out var linkId))
        {
            return LinkValidation.Refused(LinkFailure.Forged);
        }

        var record = await store.GetAsync(linkId, cancellationToken);
        if (record is null)
        {
            return LinkValidation.Refused(LinkFailure.Unknown);
        }

        return record.PreferencesFailure(clock.GetUtcNow()) is { } failure
            ? LinkValidation.Refused(failure)
            : LinkValidation.Valid(ToContext(record));
    }

    /// <summary>
    /// Marks the link used (one submission). <paramref name="etag"/> is the version the caller validated; if the record
    /// changed since (opened again in another tab), its state is checked again and the use is applied to the current
    /// version. Never succeeds twice for one link.
    /// </summary>
    public async Task<LinkValidation> MarkUsedAsync(string token, string etag, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(etag);
        if (!TryAuthenticate(token, out var linkId))
        {
            return LinkValidation.Refused(LinkFailure.Forged);
        }

        for (var attempt = 0; attempt < MaxConflictRetries; attempt++)
        {
            var record = await store.GetAsync(linkId, cancellationToken);
            if (record is null)
            {
                return LinkValidation.Refused(LinkFailure.Unknown);
            }

            if (record.Failure(clock.GetUtcNow()) is { } failure)
            {
                return LinkValidation.Refused(failure);
            }

            record.UsedAt = clock.GetUtcNow();
            // First attempt: the caller's version when it is still current; a changed record was re-checked above.
            var ifMatch = attempt == 0 && record.ETag == etag ? etag : record.ETag!;
            if (await store.TryReplaceAsync(record, ifMatch, cancellationToken))
            {
                logger.LogInformation("Engagement link {LinkId} used", linkId);
                return LinkValidation.Valid(ToContext(record));
            }
        }

        throw new InvalidOperationException($"Link {linkId} kept changing; try again.");
    }

    /// <summary>Revokes a link by id; false when no such link exists. Revoking twice is harmless.</summary>
    public async Task<bool> RevokeAsync(string linkId, CancellationToken cancellationToken)
    {
        if (!LinkToken.IsValidLinkId(linkId))
        {
            return false;
        }

        for (var attempt = 0; attempt < MaxConflictRetries; attempt++)
        {
            var record = await store.GetAsync(linkId, cancellationToken);
            if (record is null)
            {
                return false;
            }

            if (record.RevokedAt is not null)
            {
                return true;
            }

            record.RevokedAt = clock.GetUtcNow();
            if (await store.TryReplaceAsync(record, record.ETag!, cancellationToken))
            {
                logger.LogInformation("Engagement link {LinkId} revoked", linkId);
                return true;
            }
        }

        throw new InvalidOperationException($"Link {linkId} kept changing; try again.");
    }

    private async Task<LinkValidation> ValidateAsync(string token, bool recordOpen, CancellationToken cancellationToken)
    {
        if (!TryAuthenticate(token, out var linkId))
        {
            return LinkValidation.Refused(LinkFailure.Forged);
        }

        for (var attempt = 0; attempt < MaxConflictRetries; attempt++)
        {
            var record = await store.GetAsync(linkId, cancellationToken);
            if (record is null)
            {
                return LinkValidation.Refused(LinkFailure.Unknown);
            }

            var now = clock.GetUtcNow();
            if (record.Failure(now) is { } failure)
            {
                return LinkValidation.Refused(failure);
            }

            if (!recordOpen)
            {
                return LinkValidation.Valid(ToContext(record));
            }

            record.OpenCount++;
            record.FirstOpenedAt ??= now;
            record.LastOpenedAt = now;
            if (await store.TryReplaceAsync(record, record.ETag!, cancellationToken))
            {
                return LinkValidation.Valid(ToContext(record));
            }
        }

        throw new InvalidOperationException($"Link {linkId} kept changing; try again.");
    }

    private bool TryAuthenticate(string token, [NotNullWhen(true)] out string? linkId)
    {
        linkId = null;
        if (!LinkToken.TryParse(token, out var keyId, out var parsedLinkId, out var mac))
        {
            return false;
        }

        if (keys.FindSecret(keyId) is not { } secret || !LinkToken.Verify(secret, keyId, parsedLinkId, mac))
        {
            logger.LogWarning("Refused an engagement link token with an unknown key or a bad MAC (key {KeyId})", keyId);
            return false;
        }

        linkId = parsedLinkId;
        return true;
    }

    private static LinkContext ToContext(LinkRecord r) =>
        new(r.LinkId, r.PatientId, r.TaskId, r.QuestionnaireCanonical, r.InstanceId, r.ExpiresAt, r.ETag!);
}
