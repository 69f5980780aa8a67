namespace Engagement.Intake;

/// <summary>The <c>Engagement:Intake</c> section: limits and storage names of EHR event intake.</summary>
public sealed class IntakeOptions
{
    public const string SectionName = "Engagement:Intake";

    /// <summary>Largest request body accepted, enforced while reading (413 beyond it). Default 5 MB.</summary>
    public long MaxBodyBytes { get; set; } = 5 * 1024 * 1024;

    /// <summary>Deepest JSON nesting accepted (400 beyond it). FHIR resources rarely nest deeper than 20.</summary>
    public int MaxJsonDepth { get; set; } = 64;

    /// <summary>
    /// Prefix of the intake's tables (<c>{Prefix}Inbox</c>, <c>{Prefix}Events</c>, <c>{Prefix}Subscriptions</c>), queue and
    /// blob container (lower case). Letters and digits only. Tests give each host its own.
    /// </summary>
    public string StoragePrefix { get; set; } = "Intake";

    /// <summary>
    /// The connection of intake's tables and inbox blobs (<see cref="IntakeStorage"/>): <c>AzureWebJobsStorage</c> by
    /// default, or the name of another one (a connection string, or <c>{name}__accountName</c> with a managed identity),
    /// so that the EHR's acknowledgement does not share a storage account with the rest of the app.
    /// </summary>
    public string StorageConnectionName { get; set; } = Engagement.Hosting.ConfigurationKeys.Storage;

    /// <summary>Whether this process drains the intake queue and re-drives unprocessed inbox rows (both default on).</summary>
    public bool Processing { get; set; } = true;

    /// <summary>
    /// How long a missing event number may stay missing before it is declared a gap and fetched from the source
    /// (<c>$events</c>): notifications are processed concurrently, so a number is often merely out of order.
    /// </summary>
    public TimeSpan GapGracePeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long after a fetch of declared gaps that left some open (the source returned them no more) the next one
    /// waits; it doubles after each further try, up to <see cref="GapRecoveryMaxBackoff"/>. A gap newly declared is
    /// fetched at once.
    /// </summary>
    public TimeSpan GapRecoveryBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest wait between two fetches of the same open gaps.</summary>
    public TimeSpan GapRecoveryMaxBackoff { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How often the sweeper declares and fetches overdue gaps, and tries again the rows this process holds for a retry
    /// (<see cref="IntakeRetries"/>). Neither reads the inbox table as a whole.
    /// </summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long after a failed processing a row is tried again (the wait doubles with each further failure, up to
    /// <see cref="BackstopInterval"/>); and how old a pending row must be before the backstop takes it for lost.
    /// </summary>
    public TimeSpan RedriveAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often the sweeper scans the whole inbox for rows acknowledged and never processed that this process does not
    /// hold: a message lost, a crashed instance that does not come back (scale-out), a retry beyond
    /// <see cref="IntakeRetries.Capacity"/>. Each start scans once at once, for the rows acknowledged before it: that is
    /// how a crash between acknowledge and processing is recovered. The scan reads every row of the table, which on a
    /// busy Azurite holds up the EHR's acknowledgements (docs/reliability.md), hence the long default.
    /// </summary>
    public TimeSpan BackstopInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long processed inbox rows and event journal rows are kept, with their blobs (<see cref="IntakeRetention"/>);
    /// <c>00:00:00</c> keeps them for ever. An inbox row is what tells a redelivery from a new delivery, so this must be
    /// longer than any EHR goes on redelivering: a delivery repeated after its row is gone is accepted and processed again
    /// (a follow-up is still started once: its start claim is kept). Pending rows are never deleted. Default 7 days.
    /// </summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often the retention sweep runs (each pass reads the inbox and journal tables whole). Default 1 hour.</summary>
    public TimeSpan RetentionInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Standalone host: how many intake queue messages one process works on at once (the Functions queue trigger's
    /// <c>batchSize</c> is 16 by default). Processing a notification is a chain of storage round trips, so throughput is
    /// bound by this rather than by CPU: at 4, a 20 notifications/s soak built a backlog on a machine at load 2
    /// (docs/reliability.md).
    /// </summary>
    public int ProcessingConcurrency { get; set; } = 16;

    /// <summary>
    /// How long the enqueue pump waits for more accepted rows to put into one intake queue message (up to 64) after the
    /// first. Each message is a storage write, and on Azurite also an index rebuild for every later queue operation; at
    /// 200 notifications/s a window of 25 ms makes about 40 messages/s instead of 200. It delays only processing that
    /// goes through the queue (the Functions app; the standalone host's overflow), never the answer to the EHR.
    /// </summary>
    public TimeSpan QueueBatchWindow { get; set; } = TimeSpan.FromMilliseconds(25);

    /// <summary>
    /// Longest one inbox row's processing may take before it is given up and left pending for a retry (the sweeper, the
    /// queue's redelivery), so that a call that never answers cannot hold a processing slot for good. Each call to the
    /// EHR is bounded at 30 s (the resilience handler), storage calls by the SDK's timeouts; durable calls have no deadline
    /// of their own. Default: the queue's visibility timeout, so that a message is not redelivered while still worked on.
    /// </summary>
    public TimeSpan ProcessingTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a dequeued intake message stays invisible to other consumers while it is processed.</summary>
    public TimeSpan QueueVisibilityTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Standalone host only: maps <c>POST /api/diagnostics/intake-floor</c>, a bare endpoint doing one table insert per
    /// request, the floor the intake accept path is measured against (docs/performance.md). Off by default.
    /// </summary>
    public bool BenchmarkFloor { get; set; }

    internal string InboxTable => StoragePrefix + "Inbox";

    internal string EventsTable => StoragePrefix + "Events";

    internal string SubscriptionsTable => StoragePrefix + "Subscriptions";

    internal string QueueName => StoragePrefix.ToLowerInvariant();

    internal string ContainerName => StoragePrefix.ToLowerInvariant() + "-inbox";
}

/// <summary>One EHR (<c>Engagement:Sources:{name}</c>).</summary>
public sealed class SourceOptions
{
    public const string SectionName = "Engagement:Sources";

    /// <summary>The EHR sends <c>Authorization: Bearer {InboundSecret}</c>. A source without one is refused (401).</summary>
    public string? InboundSecret { get; set; }

    /// <summary>Optional: HMAC-SHA256 of the raw body, lowercase or uppercase hex, in <c>X-Signature</c>.</summary>
    public string? HmacKey { get; set; }

    /// <summary>The EHR's FHIR base URL: reads for id-only and empty payloads, <c>$events</c>, <c>$status</c>.</summary>
    public Uri? FhirBaseUrl { get; set; }

    /// <summary>
    /// Write-back of the CarePlans, Tasks, QuestionnaireResponses and score Observations produced for this source's
    /// patients to <see cref="FhirBaseUrl"/> (conditional create on our identifier, then updates). Unset: each type the
    /// server's CapabilityStatement offers conditional create for; <c>false</c>: never; <c>true</c>: all four, whatever
    /// the CapabilityStatement says (for servers whose statement is incomplete).
    /// </summary>
    public bool? WriteBack { get; set; }

    /// <summary>Whether anything may be written back to this source: it has a FHIR base URL and <see cref="WriteBack"/> is not false.</summary>
    public bool MayWriteBack => WriteBack != false && FhirBaseUrl is not null;

    /// <summary>How we authenticate to <see cref="FhirBaseUrl"/>.</summary>
    public SourceAuthOptions Auth { get; set; } = new();

    /// <summary>
    /// Search (relative to <see cref="FhirBaseUrl"/>, e.g. <c>Encounter?status=finished</c>) run with <c>_lastUpdated</c> for a
    /// classic rest-hook ping (empty POST) and as the re-query when <c>$events</c> is not available.
    /// </summary>
    public string? Criteria { get; set; }

    /// <summary>Heartbeat period assumed when the Subscription does not state one (backport-heartbeat-period).</summary>
    public TimeSpan? HeartbeatPeriod { get; set; }
}

/// <summary><c>Engagement:Sources:{name}:Auth</c>.</summary>
public sealed class SourceAuthOptions
{
    /// <summary><c>none</c> (default), <c>bearer</c> (<see cref="Token"/>) or <c>smart</c> (SMART Backend Services).</summary>
    public string Type { get; set; } = "none";

    /// <summary>Static bearer token for <c>bearer</c>.</summary>
    public string? Token { get; set; }

    /// <summary>SMART: the registered client id (iss and sub of the assertion).</summary>
    public string? ClientId { get; set; }

    /// <summary>SMART: the authorization server's token endpoint (aud of the assertion).</summary>
    public Uri? TokenUrl { get; set; }

    /// <summary>SMART: scopes requested, e.g. <c>system/*.rs</c>.</summary>
    public string Scope { get; set; } = "system/*.read";

    /// <summary>SMART: PEM private key (PKCS#8 or PKCS#1/SEC1) matching the registered JWKS.</summary>
    public string? PrivateKey { get; set; }

    /// <summary>SMART: <c>RS384</c> (default) or <c>ES384</c>.</summary>
    public string Algorithm { get; set; } = "RS384";

    /// <summary>SMART: the key id (kid) in the JWKS.</summary>
    public string? KeyId { get; set; }
}
