namespace Engagement.Storage;

/// <summary>Answers whether the product's storage is reachable.</summary>
public interface IStorageProbe
{
    /// <summary>Throws when storage does not answer.</summary>
    Task ProbeAsync(CancellationToken cancellationToken);
}
