using System.Globalization;
using Azure;
using Azure.Data.Tables;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Options;

namespace Engagement.FollowUp.Engine;

/// <summary>
/// <c>FollowUps</c> (partition = patient, row = instance): which runs a patient has and how they ended.
/// <c>FollowUpHistory</c> (partition = instance): what was planned, sent, answered, escalated — ids and codes only.
/// <c>FollowUpClaims</c> (row = instance): the first starter of an instance wins, so concurrent triggers start one run;
/// the claim row also keeps the run's patient, protocol and status, found by instance id once the durable history of an
/// ended run is purged (<see cref="DurableRetention"/>). A claim without a status is a start not known to have happened
/// (the starter may have crashed, or storage failed, between claiming and creating the run): it is a lease, taken over
/// once older than <see cref="FollowUpStartOptions.StartClaimLease"/>, so such a start is retried instead of lost.
/// </summary>
public sealed class FollowUpIndex(StorageClients storage, IOptions<FollowUpStartOptions> options, TimeProvider time)
{
    private readonly TableClient runs = storage.Tables.GetTableClient("FollowUps");
    private readonly TableClient history = storage.Tables.GetTableClient("FollowUpHistory");
    private readonly TableClient claims = storage.Tables.GetTableClient("FollowUpClaims");
    private const string ClaimPartition = "claim";
    private const string ClaimedAt = "ClaimedAt";
    private const string SchedulingAt = "SchedulingAt";
    private volatile bool ready;

    public async Task UpsertRunAsync(string patientId, string instanceId, string protocolId, string? title, string status, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken);
        await runs.UpsertEntityAsync(new TableEntity(patientId, instanceId)
        {
            ["Protocol"] = protocolId,
            ["Title"] = title,
            ["Status"] = status,
        }, TableUpdateMode.Merge, cancellationToken);
        await claims.UpsertEntityAsync(new TableEntity(ClaimPartition, instanceId)
        {
            ["Patient"] = patientId,
            ["Protocol"] = protocolId,
            ["Title"] = title,
            ["Status"] = status,
        }, TableUpdateMode.Merge, cancellationToken);
    }

    /// <summary>A run by instance id, as this index knows it (null when it never started here).</summary>
    public async Task<FollowUpRun?> RunAsync(string instanceId, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken);
        var row = await claims.GetEntityIfExistsAsync<TableEntity>(ClaimPartition, instanceId, cancellationToken: cancellationToken);
        return row.HasValue && row.Value!.GetString("Status") is { } status
            ? new FollowUpRun(instanceId, row.Value.GetString("Patient"), row.Value.GetString("Protocol"), row.Value.GetString("Title"), status)
            : null;
    }

    public async Task<IReadOnlyList<TableEntity>> RunsForPatientAsync(string patientId, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken);
        var rows = new List<TableEntity>();
        await foreach (var row in runs.QueryAsync<TableEntity>(e => e.PartitionKey == patientId, cancellationToken: cancellationToken))
        {
            rows.Add(row);
        }

        return rows;
    }

    /// <summary>Appends a history line; the same (at, kind, key) written twice stays one line.</summary>
    public async Task AppendAsync(string instanceId, DateTimeOffset at, string kind, string? occurrenceKey, string? detail, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken);
        var row = $"{at.UtcTicks.ToString("D19", CultureInfo.InvariantCulture)}-{kind}-{occurrenceKey}";
        await history.UpsertEntityAsync(new TableEntity(instanceId, row)
        {
            ["At"] = at,
            ["Kind"] = kind,
            ["Occurrence"] = occurrenceKey,
            ["Detail"] = detail,
        }, TableUpdateMode.Replace, cancellationToken);
    }

    /// <summary>
    /// Appends a line that happens once per (kind, occurrence, <paramref name="step"/>) however often the activity that
    /// writes it runs (the engine runs activities at least once: a crash before their completion is recorded re-runs
    /// them). The first write wins, with its time.
    /// </summary>
    public async Task AppendOnceAsync(string instanceId, DateTimeOffset at, string kind, string? occurrenceKey, string step, string? detail, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken);
        try
        {
            await history.AddEntityAsync(new TableEntity(instanceId, $"once-{kind}-{occurrenceKey}-{step}")
            {
                ["At"] = at,
                ["Kind"] = kind,
                ["Occurrence"] = occurrenceKey,
                ["Detail"] = detail,
            }, cancellationToken);
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 409)
        {
            // Written by an earlier run of the same activity.
        }
    }

    public async Task<IReadOnlyList<FollowUpHistoryEntry>> HistoryAsync(string instanceId, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken);
        var entries = new List<FollowUpHistoryEntry>();
        await foreach (var row in history.QueryAsync<TableEntity>(e => e.PartitionKey == instanceId, cancellationToken: cancellationToken))
        {
            entries.Add(new FollowUpHistoryEntry(row.GetDateTimeOffset("At") ?? default, row.GetString("Kind"), row.GetString("Occurrence"), row.GetString("Detail")));
        }

        // In time order (lines written once are keyed by what they record, not by time).
        return [.. entries.OrderBy(e => e.At)];
    }

    /// <summary>
    /// Claims the start of a run. <see cref="StartClaim.Won"/>: the caller creates it (first claim);
    /// <see cref="StartClaim.TakenOver"/>: likewise, by a takeover of a claim older than the lease whose run was never
    /// recorded. <see cref="StartClaim.Started"/>: the run is known to have started. <see cref="StartClaim.Held"/>: another
    /// starter claimed it within the lease and may be creating it.
    /// </summary>
    public async Task<StartClaim> TryClaimAsync(string instanceId, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken);
        var now = time.GetUtcNow();
        try
        {
            await claims.AddEntityAsync(new TableEntity(ClaimPartition, instanceId) { [ClaimedAt] = now }, cancellationToken);
            return StartClaim.Won;
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 409)
        {
            // Taken: by a run that started (it has a status), by a starter at work, or by one that never finished.
        }

        var existing = await claims.GetEntityIfExistsAsync<TableEntity>(ClaimPartition, instanceId, cancellationToken: cancellationToken);
        if (!existing.HasValue)
        {
            return StartClaim.Held; // claims are never deleted; read again on the retry
        }

        var claim = existing.Value!;
        if (claim.GetString("Status") is not null)
        {
            return StartClaim.Started;
        }

        // Claims written before the lease existed have no ClaimedAt: the table's timestamp stands in. A claim whose starter
        // had begun creating the run may have left a start message the engine has not processed yet: the longer lease.
        var claimedAt = claim.GetDateTimeOffset(ClaimedAt) ?? claim.Timestamp ?? now;
        var (since, lease) = claim.GetDateTimeOffset(SchedulingAt) is { } scheduling && scheduling >= claimedAt
            ? (scheduling, options.Value.StartInDoubtLease)
            : (claimedAt, options.Value.StartClaimLease);
        if (now - since < lease)
        {
            return StartClaim.Held;
        }

        try
        {
            // Only one of several takers wins: the update is conditional on the claim as read.
            await claims.UpdateEntityAsync(new TableEntity(ClaimPartition, instanceId) { [ClaimedAt] = now }, claim.ETag, TableUpdateMode.Merge, cancellationToken);
            return StartClaim.TakenOver;
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 412)
        {
            return StartClaim.Held;
        }
    }

    /// <summary>
    /// Notes on a claim this starter holds that it is about to create the run: from here on the create may half happen,
    /// and the claim is taken over only after <see cref="FollowUpStartOptions.StartInDoubtLease"/>.
    /// </summary>
    public async Task MarkSchedulingAsync(string instanceId, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken);
        await claims.UpdateEntityAsync(new TableEntity(ClaimPartition, instanceId) { [SchedulingAt] = time.GetUtcNow() }, ETag.All, TableUpdateMode.Merge, cancellationToken);
    }

    private async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (!ready)
        {
            await runs.CreateIfNotExistsAsync(cancellationToken);
            await history.CreateIfNotExistsAsync(cancellationToken);
            await claims.CreateIfNotExistsAsync(cancellationToken);
            ready = true;
        }
    }
}

/// <summary>A run as the index keeps it: its status is <c>running</c> or how it ended.</summary>
public sealed record FollowUpRun(string InstanceId, string? PatientId, string? Protocol, string? Title, string Status);

public sealed record FollowUpHistoryEntry(DateTimeOffset At, string Kind, string? Occurrence, string? Detail);

/// <summary>What <see cref="FollowUpIndex.TryClaimAsync"/> found.</summary>
public enum StartClaim
{
    Won,
    Started,
    Held,

    /// <summary>Won by taking over a claim older than the lease whose run was never recorded.</summary>
    TakenOver,
}

/// <summary>Configuration section <c>Engagement:FollowUp</c>: how run starts are claimed.</summary>
public sealed class FollowUpStartOptions
{
    /// <summary>
    /// How long a claimed start that did not happen (no run recorded), whose starter had not begun creating the run, stays
    /// with its claimer before another starter may take it over. Claiming and creating a run take milliseconds; the lease
    /// covers a claimer still retrying a slow storage call, and bounds how long a start lost to a crash or a storage
    /// outage waits to be retried.
    /// </summary>
    public TimeSpan StartClaimLease { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The same, for a claim whose starter had begun creating the run (<c>SchedulingAt</c>): the create may have half
    /// happened. The durable engine's Azure Storage backend creates an instance in two writes, the start message to a
    /// control queue and then the instance row; a create cut off between them (storage failing) leaves a start message
    /// that no instance shows until the engine processes it, which after a storage outage can take more than a minute
    /// (it first takes its control queues back). A takeover before then sends a second start message, and the engine
    /// cannot load that instance ("Multiple ExecutionStartedEvent found"). Default 10 minutes.
    /// </summary>
    public TimeSpan StartInDoubtLease { get; set; } = TimeSpan.FromMinutes(10);
}
