using System.Diagnostics;
using Engagement.Integration.Tests.Infrastructure;

namespace Engagement.Reliability;

/// <summary>
/// An Azurite of the test's own (<c>scripts/azurite.sh</c>), with its own data folder and free loopback ports, so it
/// can be stopped and started again — same folder, same ports — without touching the shared test Azurite.
/// <paramref name="inMemory"/>: data in memory only (<c>AZURITE_IN_MEMORY=1</c>), for long runs where disk persistence
/// would rewrite the growing database and stall every request (it is then lost when Azurite stops).
/// </summary>
public sealed class PrivateAzurite(bool inMemory = false) : IAsyncDisposable
{
    private readonly int[] ports = TestEnvironment.FreeTcpPorts(3);

    public string DataFolder { get; } = Path.Combine(Path.GetTempPath(), "engagement-outage-azurite-" + Guid.NewGuid().ToString("N")[..8]);

    public string ConnectionString { get; private set; } = string.Empty;

    public bool IsRunning { get; private set; }

    /// <summary>The Azurite process id while it runs (from the pid file <c>azurite.sh</c> keeps), otherwise null.</summary>
    public int? ProcessId => IsRunning && int.TryParse(File.Exists(Path.Combine(DataFolder, "azurite.pid")) ? File.ReadAllText(Path.Combine(DataFolder, "azurite.pid")).Trim() : null, out var pid) ? pid : null;

    /// <summary>Starts Azurite (again) on the same data folder and ports; returns the connection string.</summary>
    public async Task<string> StartAsync()
    {
        var output = await ScriptAsync(["start", DataFolder, .. ports.Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        ConnectionString = output.Trim();
        IsRunning = true;
        return ConnectionString;
    }

    /// <summary>Stops Azurite (SIGTERM, as an operator or the platform would); its data stays in the folder.</summary>
    public async Task StopAsync()
    {
        await ScriptAsync("stop", DataFolder);
        IsRunning = false;
    }

    /// <summary>
    /// SIGSTOP: Azurite stays up but answers nothing — connections are still accepted by the kernel and requests hang,
    /// as on a storage account that has stopped answering rather than gone away. <see cref="ThawAsync"/> resumes it.
    /// </summary>
    public Task FreezeAsync() => SignalAsync("-STOP");

    public Task ThawAsync() => SignalAsync("-CONT");

    private async Task SignalAsync(string signal)
    {
        var pid = ProcessId ?? throw new InvalidOperationException("Azurite is not running.");
        if (!await TestEnvironment.SignalAsync(pid, signal))
        {
            throw new InvalidOperationException($"kill {signal} {pid} failed");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (IsRunning)
        {
            await ThawAsync(); // a frozen process would hold its SIGTERM until resumed
        }

        await StopAsync();
        try
        {
            Directory.Delete(DataFolder, recursive: true);
        }
        catch (IOException)
        {
            // left for the OS to clean
        }
    }

    private async Task<string> ScriptAsync(params string[] args)
    {
        var info = new ProcessStartInfo("bash", [Path.Combine(TestEnvironment.RepoRoot, "scripts", "azurite.sh"), .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (inMemory)
        {
            info.Environment["AZURITE_IN_MEMORY"] = "1";
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"azurite.sh {string.Join(' ', args)} exited with {process.ExitCode}: {await stderr}");
        }

        return await stdout;
    }
}
