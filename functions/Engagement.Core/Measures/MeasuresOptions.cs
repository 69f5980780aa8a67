namespace Engagement.Measures;

/// <summary><c>Engagement:Measures</c>: where the engagement event log and aggregates live.</summary>
public sealed class MeasuresOptions
{
    public const string Section = "Engagement:Measures";

    /// <summary>Table of the event log, buckets and indexes (tests give each host its own).</summary>
    public string TableName { get; set; } = "EngagementMeasures";
}
