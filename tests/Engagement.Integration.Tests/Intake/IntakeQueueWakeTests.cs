using Engagement.Integration.Tests.Infrastructure;
using Engagement.Intake;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Engagement.Integration.Tests.Intake;

/// <summary>
/// The standalone host's intake listener waits on <see cref="IntakeQueue.NextSend"/> besides its idle back-off, so a
/// notification this host accepted is processed at once (docs/performance.md, follow-up start). The signal must fire on
/// a send, and only then.
/// </summary>
public sealed class IntakeQueueWakeTests
{
    [Fact]
    public async Task NextSend_completes_when_this_process_sends_a_message_and_not_before()
    {
        var queue = new IntakeQueue(
            new StorageClients(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["AzureWebJobsStorage"] = TestEnvironment.StorageConnectionString }).Build()),
            Options.Create(new IntakeOptions { StoragePrefix = IntakeFixture.NewPrefix() }));
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
