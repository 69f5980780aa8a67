using System.Net;
using Azure;
using Azure.Data.Tables;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Options;

namespace Engagement.Intake;

/// <summary><c>{prefix}Subscriptions</c>: partition = source, row = hash of the subscription reference; optimistic updates.</summary>
public sealed class SubscriptionStateStore(StorageClients storage, IOptions<IntakeOptions> options)
{
    private readonly TableClient table = storage.Tables.GetTableClient(options.Value.SubscriptionsTable);
    private volatile bool ready;

    /// <summary>Applies <paramref name="change"/> to the current state (ETag-checked, retried on a concurrent writer).</summary>
    public async Task<SubscriptionState> UpdateAsync(string source, string subscription, Func<SubscriptionState, SubscriptionState> change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(change);
        await EnsureAsync(cancellationToken);
        var key = IntakeKeys.For(subscription);
        for (var attempt = 0; ; attempt++)
        {
            var row = await table.GetEntityIfExistsAsync<TableEntity>(source, key, cancellationToken: cancellationToken);
            var current = row.HasValue ? FromEntity(row.Value!) : SubscriptionState.New(source, subscription);
            var next = change(current);
            var entity = ToEntity(next, key);
            try
            {
                if (row.HasValue)
                {
                    await table.UpdateEntityAsync(entity, row.Value!.ETag, TableUpdateMode.Replace, cancellationToken);
                }
                else
                {
                    await table.AddEntityAsync(entity, cancellationToken);
                }

                return next;
            }
            catch (RequestFailedException ex) when (ex.Status is (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.Conflict && attempt < 20)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(10 * (attempt + 1)), cancellationToken);
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
        ["LastHeartbeat"] = s.LastHeartbeat,
        ["LastNotification"] = s.LastNotification,
        ["HeartbeatPeriodSeconds"] = s.HeartbeatPeriod?.TotalSeconds,
        ["GapsFound"] = s.GapsFound,
        ["GapsRecovered"] = s.GapsRecovered,
        ["Missing"] = s.MissingText,
        ["Declared"] = s.DeclaredText,
        ["MissingSince"] = s.MissingSince,
        ["LateArrivals"] = s.LateArrivals,
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
        e.TryGetValue("Declared", out _) ? SubscriptionState.ParseMissing(e.GetString("Declared")) : SubscriptionState.ParseMissing(e.GetString("Missing")));

    private async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (!ready)
        {
            await table.CreateIfNotExistsAsync(cancellationToken);
            ready = true;
        }
    }
}
