using Azure.Storage.Queues;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Outreach;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Engagement.Reliability;

/// <summary>
/// kill -9 of the host while the outbox dispatcher is sending: N messages are due at once (written to the host's
/// outbox through the product's <see cref="OutboxStore"/>, as the send step writes them), the host is killed once part
/// of them is on the queue, and restarted. Every outbox message reaches the queue; none is lost, none is there that
/// the outbox does not hold. The dispatcher works the outbox's shards concurrently and each shard one message at a time,
/// marking a message sent after the transport took it, so a kill can repeat at most the message in flight in each shard
/// (same MessageId; the Storage queue has no duplicate detection, Service Bus drops it by MessageId, consumers of the
/// local queue drop repeats by <c>messageId</c>): at most <see cref="OutboxStore.ShardCount"/> MessageIds twice per kill,
/// never three times.
/// </summary>
public sealed class CrashDuringDispatchTests
{
    [Fact]
    public async Task Killed_while_dispatching_every_outbox_message_reaches_the_queue_and_at_most_those_in_flight_twice()
    {
        var count = ReliabilityRun.Size(200, 2000);
        const int kills = 1;
        await using var h = new ReliabilityHarness(secondsPerDay: 86400);
        var run = ReliabilityHarness.NewRun();
        var outbox = new OutboxStore(
            new StorageClients(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["AzureWebJobsStorage"] = h.Storage }).Build()),
            Options.Create(new OutreachOptions { TableName = h.OutboxTable, QueueName = h.QueueName }));
        var ids = Enumerable.Range(1, count).Select(i => OutreachMessage.CreateId(run, i.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToList();
        // All due at once, before the host starts: its first dispatch pass finds every one of them.
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
            Assert.True(await outbox.EnqueueAsync(new OutreachMessage
            {
                MessageId = ids[i],
                PatientId = ReliabilityHarness.PatientId(run, i + 1),
                Channel = "sms",
                Language = "en",
                TemplateCode = "help",
                To = "+15550000000",
                Text = "Reply STOP to opt out.",
                CreatedAt = DateTimeOffset.UtcNow,
            }, ct)));

        var queue = new QueueClient(h.Storage, h.QueueName);
        await queue.CreateIfNotExistsAsync();
        await h.Host.StartAsync();
        var onQueueAtKill = await Poll.UntilAsync(async () => (await queue.GetPropertiesAsync()).Value.ApproximateMessagesCount, n => n >= count / 4, TimeSpan.FromMinutes(5), "a quarter of the messages on the queue");
        await h.Host.KillAsync();
        var sentAtKill = (await h.OutboxAsync()).Count(r => r.Status == OutboxStore.Sent);

        await h.Host.StartAsync();
        await Poll.UntilAsync(async () => (await h.OutboxAsync()).Count(r => r.Status == OutboxStore.Sent), n => n == count, TimeSpan.FromMinutes(ReliabilityRun.IsLong ? 20 : 5), "every outbox message sent");
        await h.Host.StopAsync(); // the dispatcher stops between messages: the outbox and the queue are compared at rest
        var rows = await h.OutboxAsync();
        var queued = await h.QueueMessageIdsAsync();
        var copies = queued.GroupBy(id => id).ToDictionary(g => g.Key, g => g.Count());
        var twice = copies.Count(c => c.Value == 2);

        ReliabilityRun.Record("Crash during dispatch (kill -9)", [
            ("outbox messages due at once", count),
            ("kills", kills),
            ("on the queue when killed (approximate count) / marked sent", $"{onQueueAtKill} / {sentAtKill}"),
            ("outbox rows sent after restart", rows.Count(r => r.Status == OutboxStore.Sent)),
            ("queue messages / distinct MessageIds", $"{queued.Count} / {copies.Count}"),
            ("outbox messages missing from the queue", ids.Count(id => !copies.ContainsKey(id))),
            ("queue messages not in the outbox", copies.Keys.Count(id => !ids.Contains(id))),
            ("MessageIds on the queue twice (in flight at the kill, at most one per shard) / more than twice", $"{twice} / {copies.Count(c => c.Value > 2)}"),
        ]);

        Assert.InRange(sentAtKill, 1, count - 1); // the kill came while the dispatcher was sending
        Assert.Equal(count, rows.Count);
        Assert.All(rows, r => Assert.Equal(OutboxStore.Sent, r.Status));
        Assert.True(ids.ToHashSet().SetEquals(copies.Keys), "every outbox message is on the queue, and nothing else");
        Assert.InRange(twice, 0, kills * OutboxStore.ShardCount);
        Assert.All(copies.Values, n => Assert.InRange(n, 1, 2));
    }
}
