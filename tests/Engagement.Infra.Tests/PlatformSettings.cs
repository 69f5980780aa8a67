namespace Engagement.Infra.Tests;

/// <summary>
/// App settings the Functions platform reads rather than the product. The Function App may carry these
/// besides the contract's keys; each is here for a stated reason.
/// </summary>
internal static class PlatformSettings
{
    /// <summary>Platform settings allowed in addition to the contract.</summary>
    public static readonly IReadOnlyDictionary<string, string> Allowed = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = "where the host and worker send telemetry",
        ["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] = "telemetry authenticates with the app identity (local auth is off)",
    };

    /// <summary>
    /// Contract keys that Azure carries in their identity-based form: the contract's <c>AzureWebJobsStorage</c>
    /// (a connection string locally) becomes <c>AzureWebJobsStorage__accountName</c> + <c>__credential</c>.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> IdentityForms = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal)
    {
        ["AzureWebJobsStorage"] = ["AzureWebJobsStorage__accountName", "AzureWebJobsStorage__credential"],
    };

    /// <summary>
    /// Settings a Flex Consumption app must not have: the plan sets the runtime and content through
    /// functionAppConfig and rejects or ignores these (FUNCTIONS_EXTENSION_VERSION included).
    /// </summary>
    public static readonly IReadOnlyList<string> RejectedByFlexConsumption =
    [
        "FUNCTIONS_EXTENSION_VERSION",
        "FUNCTIONS_WORKER_RUNTIME",
        "FUNCTIONS_WORKER_RUNTIME_VERSION",
        "WEBSITE_RUN_FROM_PACKAGE",
        "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
        "WEBSITE_CONTENTSHARE",
        "WEBSITE_NODE_DEFAULT_VERSION",
    ];
}
