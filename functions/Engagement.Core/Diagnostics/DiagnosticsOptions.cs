namespace Engagement.Diagnostics;

/// <summary>
/// <c>Engagement:Diagnostics</c>: test-only admin routes (issue and revoke engagement links). Off by default; when off
/// those routes answer 404 as if they did not exist. Never enable in production.
/// </summary>
public sealed class DiagnosticsOptions
{
    public const string SectionName = "Engagement:Diagnostics";

    public bool Enabled { get; set; }
}
