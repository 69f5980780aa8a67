using Engagement.Infra.Tests.Bicep;
using Engagement.Infra.Tests.Contract;

namespace Engagement.Infra.Tests;

/// <summary>The Function App's settings are exactly the configuration keys the product reads (shared CONTRACT.md).</summary>
public sealed class AppSettingsContractTests
{
    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public void Every_app_setting_is_a_contract_key_or_a_documented_platform_setting(string environment)
    {
        var names = DeploymentSnapshot.For(environment).AppSettings.Select(s => s.Name).ToList();

        var unknown = names.Where(name => !IsContractOrPlatform(name)).ToList();

        Assert.True(unknown.Count == 0,
            $"{environment}: app settings the product does not read (add them to CONTRACT.md or remove them): {string.Join(", ", unknown)}");
    }

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public void Every_contract_key_is_set_by_the_deployment(string environment)
    {
        // Both parameter files configure at least one source (with HMAC and FHIR client auth), one channel
        // and one SMART issuer, so every key of the contract, optional ones included, must appear.
        var names = DeploymentSnapshot.For(environment).AppSettings.Select(s => s.Name).ToList();

        var missing = ContractConfiguration.Keys
            .Where(key => PlatformSettings.IdentityForms.TryGetValue(key.Template, out var form)
                ? !form.All(names.Contains)
                : !names.Any(key.Matches))
            .Select(key => key.Template)
            .ToList();

        Assert.True(missing.Count == 0, $"{environment}: contract keys with no app setting: {string.Join(", ", missing)}");
    }

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public void App_setting_names_are_unique(string environment)
    {
        var duplicates = DeploymentSnapshot.For(environment).AppSettings
            .GroupBy(s => s.Name, StringComparer.OrdinalIgnoreCase)
            .Where(g => g.Count() > 1)
            .Select(g => g.Key)
            .ToList();

        Assert.Empty(duplicates);
    }

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public void No_setting_that_flex_consumption_rejects_is_present(string environment)
    {
        var names = DeploymentSnapshot.For(environment).AppSettings.Select(s => s.Name);

        Assert.Empty(names.Intersect(PlatformSettings.RejectedByFlexConsumption, StringComparer.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData("dev", "ehr")]
    [InlineData("prod", "ehr")]
    [InlineData("prod", "ahds")]
    public void Each_configured_source_gets_its_inbound_secret_and_fhir_base_url(string environment, string source)
    {
        var names = DeploymentSnapshot.For(environment).AppSettings.Select(s => s.Name).ToList();

        Assert.Contains($"Engagement__Sources__{source}__InboundSecret", names);
        Assert.Contains($"Engagement__Sources__{source}__FhirBaseUrl", names);
    }

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public void Production_clock_and_service_bus_outbox_are_configured(string environment)
    {
        var settings = DeploymentSnapshot.For(environment).AppSettings.ToDictionary(s => s.Name, s => s.KnownValue);

        Assert.Equal("86400", settings["Engagement__SecondsPerDay"]);
        Assert.Equal("ServiceBus", settings["Engagement__Outbox__Transport"]);
        Assert.Equal("managedidentity", settings["AzureWebJobsStorage__credential"]);
    }

    private static bool IsContractOrPlatform(string name) =>
        PlatformSettings.Allowed.ContainsKey(name)
        || PlatformSettings.IdentityForms.Values.Any(form => form.Contains(name))
        || ContractConfiguration.Keys.Any(key => !PlatformSettings.IdentityForms.ContainsKey(key.Template) && key.Matches(name));
}
