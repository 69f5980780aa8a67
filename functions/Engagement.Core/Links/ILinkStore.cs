namespace Engagement.Links;

/// <summary>Link records with optimistic concurrency (ETags). The Azure Tables implementation is in <c>AzureStorage/</c>.</summary>
public interface ILinkStore
{
    /// <summary>Stores a new record and sets its <see cref="LinkRecord.ETag"/>.</summary>
    Task CreateAsync(LinkRecord record, CancellationToken cancellationToken);

    /// <summary>The record with its current ETag, or null.</summary>
    Task<LinkRecord?> GetAsync(string linkId, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the record only if its stored ETag still equals <paramref name="ifMatch"/>; false when another writer
    /// changed it first. On success <see cref="LinkRecord.ETag"/> holds the new version.
    /// </summary>
    Task<bool> TryReplaceAsync(LinkRecord record, string ifMatch, CancellationToken cancellationToken);
}
