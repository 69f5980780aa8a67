using Microsoft.DurableTask.Client;

namespace Engagement.Durable;

/// <summary>
/// The durable client for code that is not handed one by its trigger (event routing after intake). The standalone
/// host has one in DI; the Functions app gets it from the trigger's <c>[DurableClient]</c> binding for the duration
/// of the invocation.
/// </summary>
public interface IDurableClientAccessor
{
    /// <summary>The client, or null when none is available in this context.</summary>
    DurableTaskClient? Client { get; }
}

/// <summary>For the duration of a trigger invocation (AsyncLocal): the Functions app sets it from its binding.</summary>
public sealed class InvocationDurableClientAccessor : IDurableClientAccessor
{
    private static readonly AsyncLocal<DurableTaskClient?> Current = new();

    public DurableTaskClient? Client => Current.Value;

    public static IDisposable Use(DurableTaskClient client)
    {
        var previous = Current.Value;
        Current.Value = client;
        return new Restore(previous);
    }

    private sealed class Restore(DurableTaskClient? previous) : IDisposable
    {
        public void Dispose() => Current.Value = previous;
    }
}

/// <summary>
/// The default: the <see cref="DurableTaskClient"/> registered in the container (the standalone host's gRPC
/// client, a test host's client), resolved when first asked so registration order does not matter.
/// </summary>
public sealed class ServiceProviderDurableClientAccessor(IServiceProvider services) : IDurableClientAccessor
{
    private readonly Lazy<DurableTaskClient?> client = new(() => (DurableTaskClient?)services.GetService(typeof(DurableTaskClient)));

    public DurableTaskClient? Client => client.Value;
}
