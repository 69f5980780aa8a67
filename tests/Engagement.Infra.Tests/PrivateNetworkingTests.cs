using Engagement.Infra.Tests.Bicep;

namespace Engagement.Infra.Tests;

/// <summary>enablePrivateNetworking (on in prod, off in dev): VNet integration and private endpoints, public access closed.</summary>
public sealed class PrivateNetworkingTests
{
    [Fact]
    public void Production_reaches_storage_service_bus_and_key_vault_only_through_private_endpoints()
    {
        var snapshot = DeploymentSnapshot.For("prod");

        var groups = snapshot.OfType("Microsoft.Network/privateEndpoints")
            .SelectMany(pe => pe["properties"]!["privateLinkServiceConnections"]!.AsArray())
            .Select(c => (Target: TypeOfId((string)c!["properties"]!["privateLinkServiceId"]!), Group: (string)c!["properties"]!["groupIds"]![0]!))
            .Select(x => x.Target + ":" + x.Group)
            .Order(StringComparer.Ordinal);

        Assert.Equal(
            [
                "Microsoft.KeyVault/vaults:vault",
                "Microsoft.ServiceBus/namespaces:namespace",
                "Microsoft.Storage/storageAccounts:blob",
                "Microsoft.Storage/storageAccounts:queue",
                "Microsoft.Storage/storageAccounts:table",
            ],
            groups);
        Assert.Equal(5, snapshot.OfType("Microsoft.Network/privateEndpoints/privateDnsZoneGroups").Count());
        Assert.Equal("Disabled", (string?)snapshot.Single("Microsoft.Storage/storageAccounts")["properties"]!["publicNetworkAccess"]);
        Assert.Equal("Disabled", (string?)snapshot.Single("Microsoft.ServiceBus/namespaces")["properties"]!["publicNetworkAccess"]);
        Assert.Equal("Deny", (string?)snapshot.Single("Microsoft.KeyVault/vaults")["properties"]!["networkAcls"]!["defaultAction"]);
    }

    [Fact]
    public void Production_function_app_is_integrated_with_a_subnet_delegated_to_flex_consumption()
    {
        var snapshot = DeploymentSnapshot.For("prod");
        var subnetId = (string?)snapshot.FunctionApp["properties"]!["virtualNetworkSubnetId"];
        var vnet = snapshot.Single("Microsoft.Network/virtualNetworks");

        Assert.NotNull(subnetId);
        var subnet = vnet["properties"]!["subnets"]!.AsArray()
            .Single(s => subnetId.EndsWith("/subnets/" + (string)s!["name"]!, StringComparison.Ordinal))!;
        Assert.Equal("Microsoft.App/environments", (string?)subnet["properties"]!["delegations"]![0]!["properties"]!["serviceName"]);
    }

    [Fact]
    public void Service_bus_is_premium_with_private_networking_because_standard_has_no_private_endpoints()
    {
        Assert.Equal("Premium", (string?)DeploymentSnapshot.For("prod").Single("Microsoft.ServiceBus/namespaces")["sku"]!["name"]);
        Assert.Equal("Standard", (string?)DeploymentSnapshot.For("dev").Single("Microsoft.ServiceBus/namespaces")["sku"]!["name"]);
    }

    [Fact]
    public void Development_has_no_virtual_network_or_private_endpoints()
    {
        var snapshot = DeploymentSnapshot.For("dev");

        Assert.Empty(snapshot.OfType("Microsoft.Network/virtualNetworks"));
        Assert.Empty(snapshot.OfType("Microsoft.Network/privateEndpoints"));
        Assert.Null((string?)snapshot.FunctionApp["properties"]!["virtualNetworkSubnetId"]);
    }

    private static string TypeOfId(string resourceId)
    {
        var parts = resourceId.Split("/providers/")[^1].Split('/');
        return parts[0] + "/" + parts[1];
    }
}
