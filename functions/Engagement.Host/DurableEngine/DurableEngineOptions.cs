namespace Engagement.Host.DurableEngine;

/// <summary>The <c>Engagement:Durable</c> section: how the standalone host runs the durable engine.</summary>
public sealed class DurableEngineOptions
{
    public const string SectionName = "Engagement:Durable";

    /// <summary>Task hub name; the Functions app uses host.json's <c>hubName</c> (same default).</summary>
    public string TaskHubName { get; set; } = "EngagementHub";

    /// <summary>Loopback port of the gRPC sidecar; 0 (default): a Unix domain socket of the process's own instead.</summary>
    public int SidecarPort { get; set; }

    /// <summary>
    /// Stable across restarts of the same host, so that after a crash it takes its own partition leases back at
    /// once instead of waiting for them to expire (about 30 s).
    /// </summary>
    public string? WorkerId { get; set; }

    /// <summary>Longest wait between polls of an idle control queue (the backend backs off up to this).</summary>
    public TimeSpan MaxQueuePollingInterval { get; set; } = TimeSpan.FromSeconds(1);

    public int PartitionCount { get; set; } = 4;

    /// <summary>
    /// The configuration key that holds the task hub's storage connection string (the Functions app's equivalent is
    /// host.json's <c>storageProvider.connectionName</c>). Default: <c>AzureWebJobsStorage</c>, the app's own account.
    /// A task hub on its own account does not compete with intake and the engine's tables for the account's throughput.
    /// </summary>
    public string StorageConnectionName { get; set; } = Engagement.Hosting.ConfigurationKeys.Storage;

    /// <summary>
    /// How long a dequeued control or work-item message stays invisible. After a crash, messages the dead process had
    /// dequeued come back only after this (the backend's default is 5 minutes). Our orchestration episodes and
    /// activities are short, so 30 s keeps recovery quick without redelivering work still in progress.
    /// </summary>
    public TimeSpan MessageVisibilityTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
