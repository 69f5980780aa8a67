using Engagement.Integration.Tests.Infrastructure;
using Engagement.Intake;
using Microsoft.Extensions.Options;

namespace Engagement.Integration.Tests.Intake;

/// <summary>
/// Concurrent changes to one subscription's state row (every notification of a subscription makes one) are all applied,
/// in one write when they meet: none is lost, each caller sees the state after its own change, and a change that throws
/// fails only its own caller.
/// </summary>
public sealed class SubscriptionStateStoreTests
{
    private static SubscriptionStateStore NewStore(string prefix) => new(
        new IntakeStorage(TestEnvironment.StorageClients()),
        Options.Create(new IntakeOptions { StoragePrefix = prefix }));

    [Fact]
    public async Task Concurrent_changes_to_one_subscription_are_all_applied_and_a_failing_change_fails_only_its_caller()
    {
        var prefix = IntakeFixture.NewPrefix();
        var store = NewStore(prefix);
        const string subscription = "https://ehr.example.org/fhir/Subscription/s1";

        var calls = Enumerable.Range(1, 60).Select(n => Task.Run(() => store.UpdateAsync("ehr1", subscription, s => n == 30
            ? throw new InvalidOperationException("change 30 fails")
            : s with { LateArrivals = s.LateArrivals + 1 }, CancellationToken.None))).ToList();
        var failed = await Assert.ThrowsAsync<InvalidOperationException>(() => calls[29]);
        Assert.Equal("change 30 fails", failed.Message);
        var seen = (await Task.WhenAll(calls.Where((_, i) => i != 29))).Select(s => s.LateArrivals).ToList();

        Assert.Equal(Enumerable.Range(1, 59).Select(n => (long)n), seen.Order()); // each caller saw its own change
        var stored = await NewStore(prefix).GetAsync("ehr1", subscription, CancellationToken.None); // another instance reads it
        Assert.Equal(59, stored!.LateArrivals);

        // A second store (another instance) and this one, interleaved: they meet at the ETag, nothing is lost.
        var other = NewStore(prefix);
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() => (i % 2 == 0 ? store : other).UpdateAsync("ehr1", subscription, s => s with { LateArrivals = s.LateArrivals + 1 }, CancellationToken.None))));
        Assert.Equal(99, (await store.GetAsync("ehr1", subscription, CancellationToken.None))!.LateArrivals);
    }
}
