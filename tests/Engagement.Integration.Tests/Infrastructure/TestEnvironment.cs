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
    /// <paramref name="count"/> distinct free loopback ports: all held open until every one is chosen (ports taken one
    /// after another can repeat — the kernel may hand a just-released port out again).
    /// </summary>
    public static int[] FreeTcpPorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToList();
        try
        {
            listeners.ForEach(l => l.Start());
            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            listeners.ForEach(l => l.Stop());
        }
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
