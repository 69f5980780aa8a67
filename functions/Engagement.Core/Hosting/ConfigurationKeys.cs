namespace Engagement.Hosting;

/// <summary>Configuration keys outside the <c>Engagement</c> section, shared with the Azure Functions runtime.</summary>
public static class ConfigurationKeys
{
    /// <summary>Storage for tables, queues, blobs and the durable task hub.</summary>
    public const string Storage = "AzureWebJobsStorage";
}
