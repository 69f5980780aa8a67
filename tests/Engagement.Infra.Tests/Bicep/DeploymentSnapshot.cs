using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Engagement.Infra.Tests.Bicep;

/// <summary>One Function App application setting as the deployment would write it.</summary>
/// <param name="Name">The setting name (always known before deployment here).</param>
/// <param name="RawValue">The value as the snapshot has it: a string, or an unevaluated template expression.</param>
internal sealed record AppSetting(string Name, string RawValue)
{
    /// <summary>The value, when it is known before deployment (not a runtime property of another resource).</summary>
    public string? KnownValue => ArmExpression.TryEvaluate(RawValue, out var value) ? value : null;
}

/// <summary>
/// What <c>infra/main.bicep</c> with <c>infra/env/{environment}.bicepparam</c> would deploy, as predicted
/// offline by <c>bicep snapshot</c> (parameters applied, loops and conditions expanded, modules inlined).
/// </summary>
internal sealed class DeploymentSnapshot
{
    public const string SubscriptionId = "00000000-0000-0000-0000-000000000000";
    public const string TenantId = "11111111-1111-1111-1111-111111111111";

    private static readonly ConcurrentDictionary<string, Lazy<DeploymentSnapshot>> Cache = new(StringComparer.Ordinal);

    private DeploymentSnapshot(string environment, JsonObject document)
    {
        Environment = environment;
        Resources = document["predictedResources"]!.AsArray().Select(r => r!.AsObject()).ToList();
        Outputs = document["outputs"]?.AsObject() ?? [];
        Diagnostics = document["diagnostics"]?.AsArray().Select(d => d!.ToJsonString()).ToList() ?? [];
    }

    public string Environment { get; }

    public string ResourceGroup => "rg-engagement-" + Environment;

    public IReadOnlyList<JsonObject> Resources { get; }

    public JsonObject Outputs { get; }

    public IReadOnlyList<string> Diagnostics { get; }

    public JsonObject FunctionApp => Single("Microsoft.Web/sites");

    public IReadOnlyList<AppSetting> AppSettings =>
        FunctionApp["properties"]!["siteConfig"]!["appSettings"]!.AsArray()
            .Select(s => new AppSetting((string)s!["name"]!, (string)s["value"]!))
            .ToList();

    public string KeyVaultName => (string)Outputs["keyVaultName"]!;

    /// <summary>The secret names the deployment tells the operator to set (output keyVaultEntriesToSet).</summary>
    public IReadOnlyList<string> SecretsToSet => Outputs["keyVaultEntriesToSet"]!.AsArray().Select(n => (string)n!).ToList();

    public static DeploymentSnapshot For(string environment) =>
        Cache.GetOrAdd(environment, env => new Lazy<DeploymentSnapshot>(() => Create(env))).Value;

    public IEnumerable<JsonObject> OfType(string type) =>
        Resources.Where(r => string.Equals((string?)r["type"], type, StringComparison.OrdinalIgnoreCase));

    public JsonObject Single(string type)
    {
        var matches = OfType(type).ToList();
        Assert.True(matches.Count == 1, $"{Environment}: expected one {type}, found {matches.Count}");
        return matches[0];
    }

    private static DeploymentSnapshot Create(string environment)
    {
        var bicep = InfraPaths.BicepCli;
        if (!File.Exists(bicep))
        {
            throw new InvalidOperationException($"Bicep CLI not found at {bicep}: run `bash scripts/test-setup.d/bicep.sh` (./test does).");
        }

        // The snapshot is written beside the parameter file: work on a copy of infra/ so the tree stays clean.
        var work = Directory.CreateTempSubdirectory("engagement-infra-");
        try
        {
            CopyDirectory(InfraPaths.InfraDirectory, work.FullName);
            var parameters = Path.Combine(work.FullName, "env", environment + ".bicepparam");
            Run(bicep, "snapshot", parameters,
                "--subscription-id", SubscriptionId,
                "--tenant-id", TenantId,
                "--resource-group", "rg-engagement-" + environment,
                "--location", "westeurope",
                "--deployment-name", "engagement-" + environment);
            var snapshot = Path.ChangeExtension(parameters, ".snapshot.json");
            var document = JsonNode.Parse(File.ReadAllText(snapshot))!.AsObject();
            return new DeploymentSnapshot(environment, document);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static void Run(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep {string.Join(' ', arguments)} did not finish in 3 minutes");
        }

        if (process.ExitCode != 0 || stderr.Result.Length > 0)
        {
            throw new InvalidOperationException(
                $"bicep {string.Join(' ', arguments)} exited {process.ExitCode}:\n{stderr.Result}\n{stdout.Result}");
        }
    }

    private static void CopyDirectory(string source, string target)
    {
        foreach (var directory in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(target, Path.GetRelativePath(source, directory)));
        }

        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(target, Path.GetRelativePath(source, file)));
        }
    }
}
