namespace Engagement.Hosting;

/// <summary>The <c>Engagement</c> configuration section (see shared CONTRACT.md).</summary>
public sealed class EngagementOptions
{
    public const string SectionName = "Engagement";

    /// <summary>Header value required on admin routes (<c>X-Admin-Key</c>). Admin routes are closed when unset.</summary>
    public string? AdminKey { get; set; }

    /// <summary>Base of engagement links sent to patients.</summary>
    public Uri? PublicBaseUrl { get; set; }

    /// <summary>Protocol clock: seconds in a protocol day (86400 in production; shrink for tests and demos).</summary>
    public double SecondsPerDay { get; set; } = 86400;
}
