using System.Diagnostics;
using System.Text.Json;

namespace Engagement.Integration.Tests.Infrastructure;

/// <summary>
/// Runs one of the tests' playwright-core scripts (headless Chromium) with a JSON input and returns its JSON result;
/// a non-zero exit or an <c>error</c> property fails the test with what the script wrote.
/// </summary>
public static class BrowserScript
{
    public static async Task<JsonElement> RunAsync(string scriptUnderTests, object input)
    {
        var script = Path.Combine(TestEnvironment.RepoRoot, "tests", "Engagement.Integration.Tests", scriptUnderTests);
        var info = new ProcessStartInfo("node", [script, JsonSerializer.Serialize(input)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = TestEnvironment.RepoRoot,
        };
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout;
        Assert.True(process.ExitCode == 0, "browser driver failed: " + await stderr + output);
        var result = JsonDocument.Parse(output).RootElement.Clone();
        Assert.False(result.TryGetProperty("error", out var error), "browser: " + error);
        return result;
    }
}
