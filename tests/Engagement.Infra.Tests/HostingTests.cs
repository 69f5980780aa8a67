using System.Text.Json.Nodes;
using Engagement.Infra.Tests.Bicep;

namespace Engagement.Infra.Tests;

/// <summary>The Function App runs on Flex Consumption with its own identity, and that identity holds only the data roles it uses.</summary>
public sealed class HostingTests
{
    // Built-in role definition ids (stable across tenants).
    private static readonly Dictionary<string, string> ExpectedRoles = new(StringComparer.OrdinalIgnoreCase)
    {
        ["b7e6dc6d-f1e8-4753-8033-0f276bb0955b"] = "Storage Blob Data Owner @ Microsoft.Storage/storageAccounts",
        ["974c5e8b-45b9-4653-ba55-5f855dd0fb88"] = "Storage Queue Data Contributor @ Microsoft.Storage/storageAccounts",
        ["0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"] = "Storage Table Data Contributor @ Microsoft.Storage/storageAccounts",
        ["69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"] = "Azure Service Bus Data Sender @ Microsoft.ServiceBus/namespaces",
        ["4633458b-17de-408a-b874-0445c86b69e6"] = "Key Vault Secrets User @ Microsoft.KeyVault/vaults",
        ["3913510d-42f4-4e42-8a64-420c390055eb"] = "Monitoring Metrics Publisher @ Microsoft.Insights/components",
    };

    private static readonly int[] FlexInstanceSizesMB = [512, 2048, 4096];

    private static readonly string[] DiagnosedTypes =
    [
        "Microsoft.Web/sites", "Microsoft.ServiceBus/namespaces", "Microsoft.KeyVault/vaults",
        "Microsoft.Storage/storageAccounts", "Microsoft.Storage/storageAccounts/blobServices",
        "Microsoft.Storage/storageAccounts/queueServices", "Microsoft.Storage/storageAccounts/tableServices",
    ];

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public void Function_app_runs_dotnet_isolated_on_flex_consumption_with_a_system_assigned_identity(string environment)
    {
        var snapshot = DeploymentSnapshot.For(environment);
        var plan = snapshot.Single("Microsoft.Web/serverfarms");
        var app = snapshot.FunctionApp;
        var config = app["properties"]!["functionAppConfig"]!;

        Assert.Equal("FC1", (string?)plan["sku"]!["name"]);
        Assert.Equal("FlexConsumption", (string?)plan["sku"]!["tier"]);
        Assert.Equal("functionapp,linux", (string?)app["kind"]);
        Assert.Equal("SystemAssigned", (string?)app["identity"]!["type"]);
        Assert.True((bool)app["properties"]!["httpsOnly"]!);
        Assert.Equal("dotnet-isolated", (string?)config["runtime"]!["name"]);
        Assert.Equal("10.0", (string?)config["runtime"]!["version"]);
        Assert.InRange((int)config["scaleAndConcurrency"]!["maximumInstanceCount"]!, 1, 1000);
        Assert.Contains((int)config["scaleAndConcurrency"]!["instanceMemoryMB"]!, FlexInstanceSizesMB);
    }

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public void Deployment_package_container_is_read_with_the_app_identity(string environment)
    {
        var snapshot = DeploymentSnapshot.For(environment);
        var storage = snapshot.FunctionApp["properties"]!["functionAppConfig"]!["deployment"]!["storage"]!;
        var container = snapshot.Single("Microsoft.Storage/storageAccounts/blobServices/containers");

        Assert.Equal("blobContainer", (string?)storage["type"]);
        Assert.Equal("SystemAssignedIdentity", (string?)storage["authentication"]!["type"]);
        // The blob endpoint is a runtime property of the account, so the value is "<blob endpoint><container>".
        var containerName = ((string)container["name"]!).Split('/')[^1];
        var value = (string)storage["value"]!;
        Assert.Contains("primaryEndpoints.blob", value, StringComparison.Ordinal);
        Assert.EndsWith($"'{containerName}')]", value, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public void App_identity_gets_exactly_the_least_privilege_data_roles_on_their_resources(string environment)
    {
        var snapshot = DeploymentSnapshot.For(environment);
        var appId = (string)snapshot.FunctionApp["id"]!;

        var granted = snapshot.OfType("Microsoft.Authorization/roleAssignments").Select(assignment =>
        {
            var properties = assignment["properties"]!;
            var role = ((string)properties["roleDefinitionId"]!).Split('/')[^1];
            var scope = ScopeOf((string)assignment["id"]!);
            Assert.Equal("ServicePrincipal", (string?)properties["principalType"]);
            Assert.Contains(appId, (string)properties["principalId"]!, StringComparison.OrdinalIgnoreCase);
            return ExpectedRoles.TryGetValue(role, out var name) ? name.Split(" @ ")[0] + " @ " + TypeOf(snapshot, scope) : role + " @ " + scope;
        }).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(ExpectedRoles.Values.Order(StringComparer.Ordinal), granted);
    }

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public void Outreach_queue_keeps_each_patient_in_order_and_drops_duplicate_message_ids(string environment)
    {
        var snapshot = DeploymentSnapshot.For(environment);
        var queue = snapshot.Single("Microsoft.ServiceBus/namespaces/queues");
        var properties = queue["properties"]!;

        Assert.EndsWith("/outreach", (string)queue["name"]!, StringComparison.Ordinal);
        Assert.True((bool)properties["requiresSession"]!);
        Assert.True((bool)properties["requiresDuplicateDetection"]!);
        Assert.False(string.IsNullOrEmpty((string?)properties["duplicateDetectionHistoryTimeWindow"]));
    }

    [Theory]
    [InlineData("dev", null)]
    [InlineData("prod", true)]
    public void Key_vault_uses_rbac_and_soft_delete_with_purge_protection_in_production(string environment, bool? purgeProtection)
    {
        var properties = DeploymentSnapshot.For(environment).Single("Microsoft.KeyVault/vaults")["properties"]!;

        Assert.True((bool)properties["enableRbacAuthorization"]!);
        Assert.True((bool)properties["enableSoftDelete"]!);
        Assert.Equal(purgeProtection, (bool?)properties["enablePurgeProtection"]);
    }

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public void Function_app_service_bus_key_vault_and_storage_send_diagnostics_to_log_analytics(string environment)
    {
        var snapshot = DeploymentSnapshot.For(environment);
        var workspace = (string)snapshot.Single("Microsoft.OperationalInsights/workspaces")["id"]!;
        var diagnosed = snapshot.OfType("Microsoft.Insights/diagnosticSettings")
            .Where(d => string.Equals((string?)d["properties"]!["workspaceId"], workspace, StringComparison.OrdinalIgnoreCase))
            .Select(d => ScopeOf((string)d["id"]!))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);

        foreach (var type in DiagnosedTypes)
        {
            var id = (string)snapshot.Single(type)["id"]!;
            Assert.True(diagnosed.Contains(id), $"{environment}: no diagnostic setting to Log Analytics on {type}");
        }
    }

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public void Application_insights_is_workspace_based(string environment)
    {
        var snapshot = DeploymentSnapshot.For(environment);
        var workspace = (string)snapshot.Single("Microsoft.OperationalInsights/workspaces")["id"]!;

        Assert.Equal(workspace, (string?)snapshot.Single("Microsoft.Insights/components")["properties"]!["WorkspaceResourceId"]);
    }

    /// <summary>The resource an extension resource (role assignment, diagnostic setting) is attached to.</summary>
    internal static string ScopeOf(string extensionResourceId) =>
        extensionResourceId[..extensionResourceId.LastIndexOf("/providers/", StringComparison.OrdinalIgnoreCase)];

    private static string TypeOf(DeploymentSnapshot snapshot, string resourceId) =>
        snapshot.Resources.FirstOrDefault(r => string.Equals((string?)r["id"], resourceId, StringComparison.OrdinalIgnoreCase)) is JsonObject resource
            ? (string)resource["type"]!
            : "unknown scope " + resourceId;
}
