using Engagement.Infra.Tests.Bicep;
using Engagement.Infra.Tests.Contract;

namespace Engagement.Infra.Tests;

/// <summary>The checks above are only as good as the contract parser and the expression evaluator: these pin them down.</summary>
public sealed class ContractParsingTests
{
    [Fact]
    public void Shared_contract_yields_its_configuration_keys()
    {
        var templates = ContractConfiguration.Keys.Select(k => k.Template).ToList();

        Assert.Contains("AzureWebJobsStorage", templates);
        Assert.Contains("Engagement__AdminKey", templates);
        Assert.Contains("Engagement__Sources__{name}__InboundSecret", templates);
        Assert.Contains("Engagement__Smart__Issuers__{n}__Issuer", templates);
        Assert.Contains("Engagement__Smart__Issuers__{n}__Audience", templates);
        Assert.Contains("ServiceBusConnection__fullyQualifiedNamespace", templates);
        Assert.DoesNotContain(templates, t => t.Contains(' ', StringComparison.Ordinal) || t.StartsWith("__", StringComparison.Ordinal));
    }

    [Fact]
    public void Only_rows_under_the_configuration_heading_count_and_optional_rows_are_marked()
    {
        const string markdown = """
            ## Commands
            | command | what it does |
            | --- | --- |
            | `./run` | runs |

            ## Configuration (environment variables)
            | key | meaning |
            | --- | --- |
            | `A__B` | required |
            | `A__{name}__Key` | optional: signs |
            | `A__List__{n}__X`, `__Y` | pairs |

            ## Later
            | `Z` | not configuration |
            """;

        var keys = ContractConfiguration.Parse(markdown);

        Assert.Equal(["A__B", "A__{name}__Key", "A__List__{n}__X", "A__List__{n}__Y"], keys.Select(k => k.Template));
        Assert.Equal([false, true, false, false], keys.Select(k => k.Optional));
    }

    [Theory]
    [InlineData("Engagement__Sources__{name}__InboundSecret", "Engagement__Sources__ehr-1__InboundSecret", true)]
    [InlineData("Engagement__Sources__{name}__InboundSecret", "Engagement__Sources____InboundSecret", false)]
    [InlineData("Engagement__Sources__{name}__InboundSecret", "Engagement__Sources__a__b__InboundSecret", false)]
    [InlineData("Engagement__Smart__Issuers__{n}__Audience", "Engagement__Smart__Issuers__12__Audience", true)]
    [InlineData("Engagement__Smart__Issuers__{n}__Audience", "Engagement__Smart__Issuers__x__Audience", false)]
    [InlineData("Engagement__Sources__{name}__Auth__*", "Engagement__Sources__ehr__Auth__ClientId", true)]
    [InlineData("Engagement__Sources__{name}__Auth__*", "Engagement__Sources__ehr__Auth__", false)]
    [InlineData("Engagement__AdminKey", "Engagement__AdminKeys", false)]
    public void Contract_placeholders_match_only_their_kind_of_segment(string template, string name, bool matches)
    {
        Assert.Equal(matches, new ContractKey(template, optional: false).Matches(name));
    }

    [Fact]
    public void A_setting_the_product_does_not_read_matches_no_contract_key()
    {
        Assert.DoesNotContain(ContractConfiguration.Keys, k => k.Matches("Engagement__Links__SigningKey"));
        Assert.DoesNotContain(ContractConfiguration.Keys, k => k.Matches("Engagement__Sources__ehr__Unknown"));
        Assert.DoesNotContain(ContractConfiguration.Keys, k => k.Matches("FUNCTIONS_WORKER_RUNTIME"));
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("[[not an expression]", "[not an expression]")]
    [InlineData("[format('@Microsoft.KeyVault(SecretUri=https://{0}{1}/secrets/{2})', 'kv-a', environment().suffixes.keyvaultDns, 'admin-key')]",
        "@Microsoft.KeyVault(SecretUri=https://kv-a.vault.azure.net/secrets/admin-key)")]
    [InlineData("[format('{0}, it''s {1}', 'a,b', 'c')]", "a,b, it's c")]
    public void Snapshot_expressions_known_before_deployment_are_evaluated(string raw, string expected)
    {
        Assert.True(ArmExpression.TryEvaluate(raw, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("[reference('/subscriptions/x/providers/Microsoft.Insights/components/a', '2020-02-02').ConnectionString]")]
    [InlineData("[format('{0}', reference('x').y)]")]
    public void Runtime_values_are_not_evaluated(string raw)
    {
        Assert.False(ArmExpression.TryEvaluate(raw, out _));
    }
}
