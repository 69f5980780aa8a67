namespace Engagement.Storage;

/// <summary>Answers whether one storage account of the product is reachable; health checks every registered probe.</summary>
public interface IStorageProbe
{
    /// <summary>What health calls it (<c>storage</c>, <c>intake storage</c>).</summary>
    string Component { get; }

    /// <summary>Throws when storage does not answer.</summary>
    Task ProbeAsync(CancellationToken cancellationToken);
}
