using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Configuration;

namespace Engagement.Integration.Tests.Infrastructure;

/// <summary>Where the repository, the built host and the test storage are.</summary>
public static class TestEnvironment
{
    private static readonly Lazy<string> LazyRepoRoot = new(FindRepoRoot);
    private static readonly Lazy<string> LazyStorage = new(ResolveStorage);

    public static string RepoRoot => LazyRepoRoot.Value;

    /// <summary>Release or Debug, the same as this test assembly was built with.</summary>
    public static string Configuration =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
            ? "Release"
            : "Debug";

    /// <summary>
    /// A storage connection string (Azurite's well-known development account) whose endpoints are a free port nobody
    /// listens on: every call is refused, after the SDK's own retries.
    /// </summary>
    public static string RefusingStorageConnectionString()
    {
        var closed = FreeTcpPort();
        return $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:{closed}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{closed}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{closed}/devstoreaccount1;";
    }

    /// <summary>Storage clients on the test storage (<see cref="StorageConnectionString"/>), as the host builds its own.</summary>
    public static StorageClients StorageClients() => new(
        new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["AzureWebJobsStorage"] = StorageConnectionString })
            .Build());

    /// <summary>
    /// Where a page test writes a screenshot: <c>docs/{name}</c> when <c>ENGAGEMENT_UPDATE_SCREENSHOTS=1</c> (to refresh
    /// the ones the docs show), else <c>artifacts/screenshots/{name}</c> — a test run does not rewrite tracked files.
    /// </summary>
    public static string ScreenshotPath(string name)
    {
        var folder = Environment.GetEnvironmentVariable("ENGAGEMENT_UPDATE_SCREENSHOTS") == "1"
            ? Path.Combine(RepoRoot, "docs")
            : Path.Combine(RepoRoot, "artifacts", "screenshots");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, name);
    }

    public static string HostDll => Path.Combine(RepoRoot, "functions", "Engagement.Host", "bin", Configuration, "net10.0", "Engagement.Host.dll");

    /// <summary>
    /// The storage connection string: <c>AzureWebJobsStorage</c> as <c>./test</c> sets it (its own Azurite), or, when
    /// tests run from an IDE without it, an Azurite this process starts on free ports.
    /// </summary>
    public static string StorageConnectionString => LazyStorage.Value;

    public static int FreeTcpPort() => FreeTcpPorts(1)[0];

    /// <summary>
    /// <paramref name="count"/> distinct free loopback ports for listeners started later (a host, a fake server, an
    /// Azurite), all held open until every one is chosen. Taken below the kernel's ephemeral range where it has one
    /// (<c>/proc/sys/net/ipv4/ip_local_port_range</c>): a port from that range (what binding port 0 hands out) can be
    /// given to any outgoing connection between the choice and the listener's bind, and the host then dies with
    /// "address already in use" (CI, 2026-12-07: exit 134 during start). Ports below the range are only ever taken by
    /// a listener that asks for them.
    /// </summary>
    public static int[] FreeTcpPorts(int count)
    {
        var listeners = new List<TcpListener>();
        try
        {
            var (low, high) = ListenerPortRange();
            for (var attempts = 0; listeners.Count < count; attempts++)
            {
                var listener = new TcpListener(IPAddress.Loopback, attempts < 200 && high > low ? Random.Shared.Next(low, high) : 0);
                try
                {
                    listener.Start();
                    listeners.Add(listener);
                }
                catch (SocketException)
                {
                    // taken; try another
                }
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            listeners.ForEach(l => l.Stop());
        }
    }

    /// <summary>Where to look for listener ports: the 8,000 ports below the ephemeral range; (0, 0) where it is not known.</summary>
    private static (int Low, int High) ListenerPortRange()
    {
        const string RangeFile = "/proc/sys/net/ipv4/ip_local_port_range";
        if (File.Exists(RangeFile)
            && File.ReadAllText(RangeFile).Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries) is [var first, ..]
            && int.TryParse(first, System.Globalization.CultureInfo.InvariantCulture, out var ephemeralLow)
            && ephemeralLow > 12000)
        {
            return (ephemeralLow - 8000, ephemeralLow);
        }

        return (0, 0);
    }

    /// <summary>Sends a signal (<c>-TERM</c>, <c>-STOP</c>, <c>-CONT</c>) to a process with <c>kill</c>; false when it failed (no such process).</summary>
    public static async Task<bool> SignalAsync(int pid, string signal)
    {
        using var kill = Process.Start("kill", [signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
        return kill.ExitCode == 0;
    }

    /// <summary>A task hub of its own per host under test, so tests never see each other's orchestrations.</summary>
    public static string NewTaskHubName() => "t" + Guid.NewGuid().ToString("N")[..15];

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Engagement.Functions.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Engagement.Functions.sln not found above " + AppContext.BaseDirectory);
    }

    private static string ResolveStorage()
    {
        var configured = Environment.GetEnvironmentVariable("AzureWebJobsStorage");
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }

        var data = Path.Combine(Path.GetTempPath(), "engagement-tests-azurite-" + Environment.ProcessId);
        var start = Process.Start(new ProcessStartInfo("bash", [Path.Combine(RepoRoot, "scripts", "azurite.sh"), "start", data])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        var connectionString = start.StandardOutput.ReadToEnd().Trim();
        start.WaitForExit();
        if (start.ExitCode != 0 || connectionString.Length == 0)
        {
            throw new InvalidOperationException("Could not start Azurite for the tests (run ./test, or set AzureWebJobsStorage).");
        }

        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            Process.Start("bash", [Path.Combine(RepoRoot, "scripts", "azurite.sh"), "stop", data])?.WaitForExit();
        return connectionString;
    }
}
