namespace Engagement.WriteBack;

/// <summary>The <c>Engagement:WriteBack</c> section. Which sources are written to is per source (<c>WriteBack</c>).</summary>
public sealed class WriteBackOptions
{
    public const string SectionName = "Engagement:WriteBack";

    /// <summary>The write-back table (one per deployment; tests use their own).</summary>
    public string TableName { get; set; } = "WriteBack";

    /// <summary>How often pending write-backs are sent.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>First retry delay after a transient failure (5xx, 408, 429, network); doubled per attempt, at most 15 minutes.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Transient failures after which a write-back is given up (recorded as failed).</summary>
    public int MaxAttempts { get; set; } = 12;
}
