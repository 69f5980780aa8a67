using System.Globalization;
using System.Text;
using Engagement.Integration.Tests.Infrastructure;

namespace Engagement.Reliability;

/// <summary>
/// Sizes of a run (short by default, full with <c>ENGAGEMENT_RELIABILITY=long</c>) and where figures go: every
/// scenario appends a section with its figures, the date and the command to the results file
/// (<c>ENGAGEMENT_RELIABILITY_RESULTS</c>, default <c>artifacts/reliability/results.md</c> under the repository).
/// </summary>
public static class ReliabilityRun
{
    private static readonly Lock Gate = new();

    public static bool IsLong => string.Equals(Environment.GetEnvironmentVariable("ENGAGEMENT_RELIABILITY"), "long", StringComparison.OrdinalIgnoreCase);

    /// <summary>The short size, or the long one under <c>ENGAGEMENT_RELIABILITY=long</c>.</summary>
    public static int Size(int shortSize, int longSize) => IsLong ? longSize : shortSize;

    public static string Command =>
        Environment.GetEnvironmentVariable("ENGAGEMENT_RELIABILITY_COMMAND")
        ?? (IsLong ? "tests/reliability.sh" : "./test --filter \"FullyQualifiedName~Engagement.Reliability\"");

    public static string ResultsFile =>
        Environment.GetEnvironmentVariable("ENGAGEMENT_RELIABILITY_RESULTS")
        ?? Path.Combine(TestEnvironment.RepoRoot, "artifacts", "reliability", "results.md");

    /// <summary>Appends one scenario's figures (name → value) to the results file.</summary>
    public static void Record(string scenario, IEnumerable<(string Figure, object Value)> figures)
    {
        var text = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"### {scenario} ({(IsLong ? "long" : "short")})\n\n")
            .Append(CultureInfo.InvariantCulture, $"- date: {TimeProvider.System.GetUtcNow():yyyy-MM-dd HH:mm} UTC\n")
            .Append(CultureInfo.InvariantCulture, $"- command: `{Command}`\n");
        foreach (var (figure, value) in figures)
        {
            text.Append(CultureInfo.InvariantCulture, $"- {figure}: {Convert.ToString(value, CultureInfo.InvariantCulture)}\n");
        }

        lock (Gate)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(ResultsFile)!);
            File.AppendAllText(ResultsFile, text.Append('\n').ToString());
        }
    }

    /// <summary>
    /// What a host warned about: the message line after each <c>warn:</c>/<c>fail:</c> header, ids and numbers blanked,
    /// grouped and counted, the most frequent first.
    /// </summary>
    public static List<string> Warnings(IReadOnlyList<string> output, int top)
    {
        ArgumentNullException.ThrowIfNull(output);
        return [.. output.Select((line, i) => (line, i))
            .Where(t => (t.line.StartsWith("warn:", StringComparison.Ordinal) || t.line.StartsWith("fail:", StringComparison.Ordinal)) && t.i + 1 < output.Count)
            .Select(t => t.line[..4] + " " + System.Text.RegularExpressions.Regex.Replace(output[t.i + 1].Trim(), "[0-9a-f]{8,}|[0-9]+", "#"))
            .GroupBy(w => w).OrderByDescending(g => g.Count()).Take(top).Select(g => $"{g.Count()} × {g.Key}")];
    }

    /// <summary>Keeps a host's log (ids and codes only: no PHI is logged) next to the results file; returns its path.</summary>
    public static string KeepLog(string name, IEnumerable<string> lines)
    {
        var path = Path.Combine(Path.GetDirectoryName(ResultsFile)!, $"{name}-{TimeProvider.System.GetUtcNow():yyyyMMdd-HHmmss}.log");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllLines(path, lines);
        return path;
    }
}
