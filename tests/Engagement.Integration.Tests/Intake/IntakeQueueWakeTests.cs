using Engagement.Integration.Tests.Infrastructure;
using Engagement.Intake;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Engagement.Integration.Tests.Intake;

/// <summary>
/// The standalone host's intake listener waits on <see cref="IntakeQueue.NextSend"/> besides its idle back-off, so a
/// notification this host accepted is processed at once (docs/performance.md, follow-up start). The signal must fire on
/// a send, and only then. With a local hand-off attached, accepted rows skip the queue until the hand-off is full; the
/// pump puts what arrives within its batch window into one message.
/// </summary>
public sealed class IntakeQueueWakeTests
{
    private static IntakeQueue NewQueue(TimeSpan? window = null) => new(
        TestEnvironment.StorageClients(),
        Options.Create(new IntakeOptions { StoragePrefix = IntakeFixture.NewPrefix(), QueueBatchWindow = window ?? TimeSpan.FromMilliseconds(25) }));

    [Fact]
    public async Task With_a_local_hand_off_items_skip_the_queue_until_it_is_full_then_overflow_to_the_queue()
    {
        var queue = NewQueue();
        var local = queue.AttachLocalProcessing(2);
        Assert.Throws<InvalidOperationException>(() => queue.AttachLocalProcessing(2)); // one per process

        string[] keys = ["k1", "k2", "k3", "k4"];
        var rows = keys.ToDictionary(k => k, k => InboxStore.AsStored(
            new InboxItem("ehr1", k, InboxKinds.Notification, new DateTimeOffset(2026, 12, 7, 8, 0, 0, TimeSpan.Zero), false, null, null, null, null, null, null), [1, 2, 3]));
        foreach (var key in keys)
        {
            queue.Post(new IntakeWorkItem("ehr1", key, Row: rows[key]));
        }

        Assert.True(local.TryRead(out var first));
        Assert.True(local.TryRead(out var second));
        Assert.False(local.TryRead(out _));
        Assert.Equal(["k1", "k2"], new[] { first!.Key, second!.Key });
        Assert.Same(rows["k1"], first.Row); // the stored row travels along: no read back

        // The sweeper leaves what is in the hand-off alone, until its processor is done with it; not the overflow.
        Assert.True(queue.IsInHandOff("ehr1", "k1"));
        Assert.False(queue.IsInHandOff("ehr1", "k3"));
        queue.HandOffDone(first);
        Assert.False(queue.IsInHandOff("ehr1", "k1"));
        Assert.True(queue.IsInHandOff("ehr1", "k2"));

        Assert.Equal(2, await queue.PumpOnceAsync(CancellationToken.None)); // the overflow, in one message, without the rows
        var messages = await queue.ReceiveAsync(16, TimeSpan.FromSeconds(30), CancellationToken.None);
        var sent = Assert.Single(messages).Body;
        Assert.Equal(["k3", "k4"], IntakeWorkItem.ParseMany(sent).Select(i => i.Key));
        Assert.DoesNotContain("InlineBody", sent.ToString(), StringComparison.Ordinal);
        Assert.All(IntakeWorkItem.ParseMany(sent), i => Assert.Null(i.Row));

        // What the processor may take as a first run: its own hand-off, or a queue message's first delivery. Anything
        // else (a redelivered message, an unknown count, the sweeper's items) may have been routed before.
        Assert.False(first.MayBeRerun);
        Assert.All(IntakeWorkItem.ParseMany(sent, dequeueCount: 1), i => Assert.False(i.MayBeRerun));
        Assert.All(IntakeWorkItem.ParseMany(sent, dequeueCount: 2), i => Assert.True(i.MayBeRerun));
        Assert.All(IntakeWorkItem.ParseMany(sent), i => Assert.True(i.MayBeRerun));
        Assert.True(new IntakeWorkItem("ehr1", "k9").MayBeRerun);
        Assert.DoesNotContain("FirstDelivery", IntakeWorkItem.ParseMany(sent, dequeueCount: 1)[0].ToBinaryData().ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Items_whose_queue_message_could_not_be_sent_are_held_for_the_sweepers_retries()
    {
        // Queue storage that refuses connections: the send fails (after the SDK's own retries).
        var clients = new Engagement.Storage.AzureStorage.StorageClients(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["AzureWebJobsStorage"] = TestEnvironment.RefusingStorageConnectionString(),
            })
            .Build());
        var options = Options.Create(new IntakeOptions { StoragePrefix = IntakeFixture.NewPrefix(), RedriveAfter = TimeSpan.FromSeconds(30) });
        var retries = new IntakeRetries(options, TimeProvider.System);
        var queue = new IntakeQueue(clients, options, retries);
        queue.Post(new IntakeWorkItem("ehr1", "s1"));
        queue.Post(new IntakeWorkItem("ehr1", "s2"));

        await Assert.ThrowsAnyAsync<Exception>(() => queue.PumpOnceAsync(CancellationToken.None));

        // Both rows are held, due RedriveAfter from now: not lost until the backstop scan, not tried at once either.
        Assert.True(retries.Contains("ehr1", "s1"));
        Assert.True(retries.Contains("ehr1", "s2"));
        Assert.Empty(retries.Due(10));
        Assert.InRange(retries.DueAt("ehr1", "s1")!.Value - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task The_pump_collects_items_posted_within_its_window_into_one_message_and_sends_a_lone_item_when_it_closes()
    {
        var queue = NewQueue(TimeSpan.FromSeconds(2));
        queue.Post(new IntakeWorkItem("ehr1", "a1"));
        var pumping = queue.PumpOnceAsync(CancellationToken.None);
        await Task.Delay(200);
        Assert.False(pumping.IsCompleted); // still inside the window
        queue.Post(new IntakeWorkItem("ehr1", "a2"));
        queue.Post(new IntakeWorkItem("ehr1", "a3"));
        Assert.Equal(3, await pumping.WaitAsync(TimeSpan.FromSeconds(10)));
        var messages = await queue.ReceiveAsync(16, TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.Equal(["a1", "a2", "a3"], IntakeWorkItem.ParseMany(Assert.Single(messages).Body).Select(i => i.Key));

        // A full batch does not wait for the window.
        var full = NewQueue(TimeSpan.FromMinutes(5));
        for (var i = 0; i < IntakeQueue.MaxBatch + 1; i++)
        {
            full.Post(new IntakeWorkItem("ehr1", "f" + i));
        }

        Assert.Equal(IntakeQueue.MaxBatch, await full.PumpOnceAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));

        // Stopping inside the window cancels the pump.
        var stopping = NewQueue(TimeSpan.FromMinutes(5));
        stopping.Post(new IntakeWorkItem("ehr1", "s1"));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => stopping.PumpOnceAsync(cts.Token));
    }

    [Fact]
    public async Task NextSend_completes_when_this_process_sends_a_message_and_not_before()
    {
        var queue = NewQueue();
        var before = queue.NextSend;
        await queue.ReceiveAsync(16, TimeSpan.FromSeconds(30), CancellationToken.None); // a receive is not a send
        Assert.False(before.IsCompleted);

        queue.Post(new IntakeWorkItem("ehr1", "k1"));
        Assert.Equal(1, await queue.PumpOnceAsync(CancellationToken.None));
        await before.WaitAsync(TimeSpan.FromSeconds(5));
        var after = queue.NextSend;
        Assert.False(after.IsCompleted); // the next wait waits for the next send
        var messages = await queue.ReceiveAsync(16, TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.Equal("k1", Assert.Single(IntakeWorkItem.ParseMany(Assert.Single(messages).Body)).Key);
    }
}
