using System.Collections.Concurrent;
using System.Net;
using Azure;
using Azure.Data.Tables;
using Engagement.Storage;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Options;

namespace Engagement.Intake;

/// <summary>
/// <c>{prefix}Subscriptions</c>: partition = source, row = hash of the subscription reference; optimistic updates.
/// <para>
/// Group commit: every notification of a subscription changes its one state row, and intake processes several
/// notifications at once. Changes to the same row that meet in this process are applied together — one read, each
/// change in arrival order, one ETag-checked write — and each caller gets the state as it was after its own change,
/// once the write that holds it has succeeded. Without this, concurrent processors lost the ETag race to each other and
/// retried (the soak, docs/reliability.md). Other instances still meet at the ETag.
/// </para>
/// </summary>
public sealed class SubscriptionStateStore(IntakeStorage storage, IOptions<IntakeOptions> options)
{
    private readonly TableClient table = storage.Clients.Tables.GetTableClient(options.Value.SubscriptionsTable);
    private GroupCommit<Func<SubscriptionState, SubscriptionState>, SubscriptionState>? commits;
    private readonly ConcurrentDictionary<string, TableEntity> written = new(StringComparer.Ordinal);
    private volatile bool ready;

    /// <summary>Applies <paramref name="change"/> to the current state (ETag-checked, retried on a concurrent writer).</summary>
    public async Task<SubscriptionState> UpdateAsync(string source, string subscription, Func<SubscriptionState, SubscriptionState> change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(change);
        await EnsureAsync(cancellationToken);
        var group = LazyInitializer.EnsureInitialized(ref commits, () => new(WriteAsync));
        return await group.SubmitAsync(source + "\n" + subscription, change, cancellationToken);
    }

    /// <summary>
    /// Applies the changes in order in one write; each gets the state after it, or the exception it threw (a change that
    /// throws is left out, as it would have been alone).
    /// </summary>
    private async Task<IReadOnlyList<GroupCommitOutcome<SubscriptionState>>> WriteAsync(string sourceAndSubscription, IReadOnlyList<Func<SubscriptionState, SubscriptionState>> changes)
    {
        var (source, subscription) = (sourceAndSubscription.Split('\n', 2)[0], sourceAndSubscription.Split('\n', 2)[1]);
        var key = IntakeKeys.For(subscription);
        for (var attempt = 0; ; attempt++)
        {
            // The row as this process last wrote it, when it did: the group commit makes this process its only writer
            // here, and another instance's write since shows as a 412, after which the row is read again.
            NullableResponse<TableEntity> row = written.TryRemove(sourceAndSubscription, out var last)
                ? Response.FromValue(last, null!)
                : await table.GetEntityIfExistsAsync<TableEntity>(source, key);
            var states = new GroupCommitOutcome<SubscriptionState>[changes.Count];
            var current = row.HasValue ? FromEntity(row.Value!) : SubscriptionState.New(source, subscription);
            for (var i = 0; i < changes.Count; i++)
            {
                try
                {
                    current = changes[i](current);
                    states[i] = GroupCommitOutcome.Of(current);
                }
                catch (Exception ex)
                {
                    states[i] = GroupCommitOutcome.Failed<SubscriptionState>(ex);
                }
            }

            var entity = ToEntity(current, key);
            try
            {
                var response = row.HasValue
                    ? await table.UpdateEntityAsync(entity, row.Value!.ETag, TableUpdateMode.Replace)
                    : (await table.AddEntityAsync(entity));
                if (response.Headers.ETag is { } etag)
                {
                    entity.ETag = etag;
                    written[sourceAndSubscription] = entity;
                }

                return states;
            }
            catch (RequestFailedException ex) when (ex.Status is (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.Conflict && attempt < 20)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(10 * (attempt + 1)));
            }
        }
    }

    public async Task<SubscriptionState?> GetAsync(string source, string subscription, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(source, IntakeKeys.For(subscription), cancellationToken: cancellationToken);
        return row.HasValue ? FromEntity(row.Value!) : null;
    }

    public async Task<IReadOnlyList<SubscriptionState>> ListAsync(string source, CancellationToken cancellationToken)
    {
        await EnsureAsync(cancellationToken);
        var list = new List<SubscriptionState>();
        await foreach (var row in table.QueryAsync<TableEntity>(e => e.PartitionKey == source, cancellationToken: cancellationToken))
        {
            list.Add(FromEntity(row));
        }

        return list;
    }

    private static TableEntity ToEntity(SubscriptionState s, string key) => new(s.Source, key)
    {
        ["Subscription"] = s.Subscription,
        ["Topic"] = s.Topic,
        ["Status"] = s.Status,
        ["LastEventNumber"] = s.LastEventNumber,
        ["FirstEventNumber"] = s.FirstEventNumber,
        ["LastHeartbeat"] = s.LastHeartbeat,
        ["LastNotification"] = s.LastNotification,
        ["HeartbeatPeriodSeconds"] = s.HeartbeatPeriod?.TotalSeconds,
        ["GapsFound"] = s.GapsFound,
        ["GapsRecovered"] = s.GapsRecovered,
        ["Missing"] = s.MissingText,
        ["Declared"] = s.DeclaredText,
        ["MissingSince"] = s.MissingSince,
        ["LateArrivals"] = s.LateArrivals,
        ["RecoveryAttempts"] = s.RecoveryAttempts,
        ["NextRecoveryAt"] = s.NextRecoveryAt,
        ["Error"] = s.Error,
    };

    private static SubscriptionState FromEntity(TableEntity e) => new(
        e.PartitionKey,
        e.GetString("Subscription") ?? "",
        e.GetString("Topic"),
        e.GetString("Status"),
        e.GetInt64("LastEventNumber"),
        e.GetDateTimeOffset("LastHeartbeat"),
        e.GetDateTimeOffset("LastNotification"),
        e.GetDouble("HeartbeatPeriodSeconds") is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
        e.GetInt64("GapsFound") ?? 0,
        e.GetInt64("GapsRecovered") ?? 0,
        SubscriptionState.ParseMissing(e.GetString("Missing")),
        e.GetString("Error"),
        e.GetDateTimeOffset("MissingSince"),
        e.GetInt64("LateArrivals") ?? 0,
        // Rows written before gaps were declared: every missing number was already counted as found.
        e.TryGetValue("Declared", out _) ? SubscriptionState.ParseMissing(e.GetString("Declared")) : SubscriptionState.ParseMissing(e.GetString("Missing")),
        e.GetInt32("RecoveryAttempts") ?? 0,
        e.GetDateTimeOffset("NextRecoveryAt"),
        e.GetInt64("FirstEventNumber")); // rows written before it: null, nothing below the first number is looked for

    private async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (!ready)
        {
            await table.CreateIfNotExistsAsync(cancellationToken);
            ready = true;
        }
    }
}
