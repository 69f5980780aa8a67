using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace Engagement.Integration.Tests.Infrastructure;

/// <summary>
/// The built standalone host (<c>Engagement.Host.dll</c>) running as a real process on a loopback port, with its
/// own task hub on the test Azurite. It can be killed with SIGKILL and started again with the same configuration.
/// Every line it writes is kept, so tests can scan the logs.
/// </summary>
public sealed class StandaloneHost : IAsyncDisposable
{
    public const string AdminKey = "test-admin-key";

    private readonly ConcurrentQueue<string> output = new();
    private Process? process;

    public StandaloneHost(IDictionary<string, string?>? settings = null)
    {
        Port = TestEnvironment.FreeTcpPort();
        BaseAddress = new Uri($"http://127.0.0.1:{Port}");
        Settings = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["ASPNETCORE_URLS"] = BaseAddress.ToString().TrimEnd('/'),
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["AzureWebJobsStorage"] = TestEnvironment.StorageConnectionString,
            ["Engagement__AdminKey"] = AdminKey,
            ["Engagement__PublicBaseUrl"] = BaseAddress.ToString().TrimEnd('/'),
            ["Engagement__Durable__TaskHubName"] = TestEnvironment.NewTaskHubName(),
            ["Engagement__Durable__WorkerId"] = "test-worker-" + Guid.NewGuid().ToString("N")[..8],
            // Each host dispatches only its own outbox: hosts share one Azurite and would drain each other's messages.
            ["Engagement__Outbox__TableName"] = "Outbox" + Guid.NewGuid().ToString("N")[..12],
            ["Engagement__Measures__TableName"] = "Measures" + Guid.NewGuid().ToString("N")[..12],
            // Likewise the intake: a shared inbox, queue and sweeper would let one host process another's
            // notifications and start the follow-up in its own task hub, with its own settings.
            ["Engagement__Intake__StoragePrefix"] = "In" + Guid.NewGuid().ToString("N")[..12],
            ["Engagement__WriteBack__TableName"] = "WriteBack" + Guid.NewGuid().ToString("N")[..12],
            ["Logging__Console__FormatterName"] = "simple",
        };
        if (settings is not null)
        {
            foreach (var (key, value) in settings)
            {
                Settings[key] = value;
            }
        }

        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public int Port { get; }

    public Uri BaseAddress { get; }

    public Dictionary<string, string?> Settings { get; }

    public HttpClient Client { get; }

    /// <summary>Everything the host wrote to stdout and stderr, across restarts.</summary>
    public IReadOnlyCollection<string> Output => output;

    public bool IsRunning => process is { HasExited: false };

    /// <summary>The host process's id while it runs (for /proc readings such as its RSS), otherwise null.</summary>
    public int? ProcessId => process is { HasExited: false } ? process.Id : null;

    /// <summary>Starts the process and waits until <c>/api/health</c> answers (200, or any status if <paramref name="requireHealthy"/> is false).</summary>
    public async Task StartAsync(bool requireHealthy = true, TimeSpan? timeout = null)
    {
        if (!File.Exists(TestEnvironment.HostDll))
        {
            throw new InvalidOperationException($"Build the host first: {TestEnvironment.HostDll} is missing.");
        }

        var info = new ProcessStartInfo("dotnet", [TestEnvironment.HostDll])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(TestEnvironment.HostDll)!,
        };
        foreach (var (key, value) in Settings)
        {
            info.Environment[key] = value;
        }

        process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { output.Enqueue(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { output.Enqueue(e.Data); } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(90));
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                // Waits for the redirected output to be read to its end too: without it the last lines (the reason the
                // host stopped) can still be in flight.
                await process.WaitForExitAsync();
                // The reason first: "Unhandled exception. …" is the one line that names it, and can be followed by
                // more than the tail shows.
                var reason = output.Where(l => l.StartsWith("Unhandled exception", StringComparison.Ordinal)).Take(1);
                throw new InvalidOperationException($"The host exited with {process.ExitCode}:\n{string.Join('\n', reason.Concat(output.TakeLast(40)))}");
            }

            try
            {
                using var response = await Client.GetAsync(new Uri("/api/health", UriKind.Relative));
                if (!requireHealthy || response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"The host did not become ready:\n{string.Join('\n', output.TakeLast(40))}");
    }

    /// <summary>SIGKILL: no graceful shutdown, as in a crash or an OOM kill.</summary>
    public async Task KillAsync()
    {
        if (process is { HasExited: false })
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Graceful stop (SIGTERM), as a platform scale-in would.</summary>
    public async Task StopAsync()
    {
        if (process is { HasExited: false })
        {
            await TestEnvironment.SignalAsync(process.Id, "-TERM"); // false when it has just exited: waited for below either way
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    public static HttpRequestMessage AdminRequest(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        request.Headers.Add("X-Admin-Key", AdminKey);
        return request;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        process?.Dispose();
        Client.Dispose();
    }
}

/// <summary>One healthy standalone host shared by the tests of a collection.</summary>
public sealed class HostFixture : IAsyncLifetime
{
    public StandaloneHost Host { get; } = new();

    public Task InitializeAsync() => Host.StartAsync();

    public Task DisposeAsync() => Host.DisposeAsync().AsTask();
}

[CollectionDefinition(Name)]
public sealed class HostCollection : ICollectionFixture<HostFixture>
{
    public const string Name = "standalone host";
}
