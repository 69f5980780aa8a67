using System.Text.Json;

namespace Engagement.Functions.Tests;

/// <summary>One function as the Functions host will see it, read from the built <c>functions.metadata</c>.</summary>
public sealed record FunctionBinding(string Name, string EntryPoint, string TriggerType, string? Route, IReadOnlyList<string> Methods, string? AuthLevel)
{
    public static IReadOnlyList<FunctionBinding> LoadBuilt()
    {
        var path = Path.Combine(RepoRoot(), "functions", "Engagement.Functions", "bin", Configuration(), "net10.0", "functions.metadata");
        Assert.True(File.Exists(path), $"functions.metadata was not generated at {path}");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.EnumerateArray().Select(function =>
        {
            var trigger = function.GetProperty("bindings").EnumerateArray()
                .Single(b => b.GetProperty("type").GetString()!.EndsWith("Trigger", StringComparison.Ordinal));
            return new FunctionBinding(
                function.GetProperty("name").GetString()!,
                function.GetProperty("entryPoint").GetString()!,
                trigger.GetProperty("type").GetString()!,
                trigger.TryGetProperty("route", out var route) ? route.GetString() : null,
                trigger.TryGetProperty("methods", out var methods) ? methods.EnumerateArray().Select(m => m.GetString()!.ToUpperInvariant()).ToList() : [],
                trigger.TryGetProperty("authLevel", out var auth) ? auth.GetString() : null);
        }).ToList();
    }

    internal static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Engagement.Functions.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("repository root not found");
    }

    private static string Configuration() =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
}
