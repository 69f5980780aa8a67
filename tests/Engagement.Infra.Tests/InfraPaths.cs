namespace Engagement.Infra.Tests;

/// <summary>Where the repository, the shared contract and the Bicep CLI are.</summary>
internal static class InfraPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string InfraDirectory => Path.Combine(RepoRoot, "infra");

    /// <summary>The shared product contract: <c>../shared/CONTRACT.md</c> beside the checkout (as in CI).
    /// <c>ENGAGEMENT_CONTRACT</c> overrides the path.</summary>
    public static string ContractFile =>
        Environment.GetEnvironmentVariable("ENGAGEMENT_CONTRACT") is { Length: > 0 } path
            ? path
            : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "CONTRACT.md"));

    /// <summary>The Bicep CLI installed by <c>scripts/test-setup.d/bicep.sh</c>; <c>BICEP_CLI</c> overrides it.</summary>
    public static string BicepCli =>
        Environment.GetEnvironmentVariable("BICEP_CLI") is { Length: > 0 } path
            ? path
            : Path.Combine(RepoRoot, ".local", "bicep", "bicep");

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
}
