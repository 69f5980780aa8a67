namespace Engagement.Outreach;

/// <summary>The <c>Engagement:Outbox</c> section.</summary>
public sealed class OutreachOptions
{
    public const string SectionName = "Engagement:Outbox";

    /// <summary><c>StorageQueue</c> (local default) or <c>ServiceBus</c> (Azure).</summary>
    public string Transport { get; set; } = "StorageQueue";

    /// <summary>Storage queue or Service Bus queue the channel gateways read.</summary>
    public string QueueName { get; set; } = "outreach";

    /// <summary>The outbox table (one per deployment; tests use their own).</summary>
    public string TableName { get; set; } = "Outbox";

    /// <summary>How often the dispatcher looks for messages not yet handed to the transport.</summary>
    public TimeSpan DispatchInterval { get; set; } = TimeSpan.FromSeconds(1);
}
