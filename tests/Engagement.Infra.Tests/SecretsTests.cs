using System.Text.RegularExpressions;
using Engagement.Infra.Tests.Bicep;

namespace Engagement.Infra.Tests;

/// <summary>No secret is part of the deployment: secret settings are Key Vault references, storage takes no keys.</summary>
public sealed partial class SecretsTests
{
    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public void Every_secret_setting_is_a_key_vault_reference_to_the_deployed_vault(string environment)
    {
        var snapshot = DeploymentSnapshot.For(environment);
        var secretSettings = snapshot.AppSettings.Where(s => LooksLikeSecret(s.Name)).ToList();
        Assert.NotEmpty(secretSettings);

        foreach (var setting in secretSettings)
        {
            var value = setting.KnownValue;
            Assert.True(value is not null, $"{setting.Name}: value is not known before deployment: {setting.RawValue}");
            var reference = KeyVaultReference().Match(value);
            Assert.True(reference.Success, $"{setting.Name} is not a Key Vault reference: {value}");
            Assert.Equal(snapshot.KeyVaultName, reference.Groups["vault"].Value);
        }
    }

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public void Every_key_vault_reference_names_a_secret_the_operator_is_told_to_set(string environment)
    {
        var snapshot = DeploymentSnapshot.For(environment);
        var referenced = snapshot.AppSettings
            .Select(s => s.KnownValue is { } value ? KeyVaultReference().Match(value) : Match.Empty)
            .Where(m => m.Success)
            .Select(m => m.Groups["secret"].Value)
            .ToList();

        Assert.NotEmpty(referenced);
        Assert.Equal(referenced.Order(StringComparer.Ordinal), snapshot.SecretsToSet.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public void No_setting_value_carries_a_key_password_or_connection_string_secret(string environment)
    {
        foreach (var setting in DeploymentSnapshot.For(environment).AppSettings)
        {
            Assert.False(CredentialInValue().IsMatch(setting.RawValue), $"{setting.Name} carries a credential: {setting.RawValue}");
            Assert.DoesNotContain("listKeys", setting.RawValue, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public void Storage_account_disallows_shared_key_access(string environment)
    {
        var properties = DeploymentSnapshot.For(environment).Single("Microsoft.Storage/storageAccounts")["properties"]!;

        Assert.False((bool)properties["allowSharedKeyAccess"]!);
        Assert.False((bool)properties["allowBlobPublicAccess"]!);
        Assert.Equal("TLS1_2", (string?)properties["minimumTlsVersion"]);
    }

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public void Service_bus_namespace_disables_sas_keys(string environment)
    {
        var properties = DeploymentSnapshot.For(environment).Single("Microsoft.ServiceBus/namespaces")["properties"]!;

        Assert.True((bool)properties["disableLocalAuth"]!);
    }

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public void Application_insights_accepts_only_entra_id_ingestion(string environment)
    {
        var snapshot = DeploymentSnapshot.For(environment);
        var properties = snapshot.Single("Microsoft.Insights/components")["properties"]!;
        var settings = snapshot.AppSettings.ToDictionary(s => s.Name, s => s.KnownValue);

        Assert.True((bool)properties["DisableLocalAuth"]!);
        Assert.Equal("Authorization=AAD", settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]);
    }

    [Theory]
    [InlineData("Engagement__AdminKey", true)]
    [InlineData("Engagement__Sources__ehr__InboundSecret", true)]
    [InlineData("Engagement__Sources__ehr__HmacKey", true)]
    [InlineData("Engagement__Sources__ehr__Auth__PrivateKey", true)]
    [InlineData("Engagement__Sources__ehr__Auth__ClientSecret", true)]
    [InlineData("Engagement__Channels__sms__InboundSecret", true)]
    [InlineData("Engagement__Sources__ehr__FhirBaseUrl", false)]
    [InlineData("AzureWebJobsStorage__credential", false)]
    public void Secret_setting_names_are_recognised(string name, bool secret)
    {
        Assert.Equal(secret, LooksLikeSecret(name));
    }

    /// <summary>The last <c>__</c> segment names a secret: ...Secret, ...Key, ...Password, ...Token.</summary>
    private static bool LooksLikeSecret(string name) =>
        SecretName().IsMatch(name[(name.LastIndexOf("__", StringComparison.Ordinal) + 1)..]);

    [GeneratedRegex("(Secret|Key|Password|Token)$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretName();

    [GeneratedRegex(@"^@Microsoft\.KeyVault\(SecretUri=https://(?<vault>[A-Za-z0-9-]{3,24})\.vault\.azure\.net/secrets/(?<secret>[A-Za-z0-9-]{1,127})/?\)$", RegexOptions.CultureInvariant)]
    private static partial Regex KeyVaultReference();

    [GeneratedRegex("AccountKey=|SharedAccessKey=|SharedAccessSignature=|Password=|[?&]sig=", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex CredentialInValue();
}
