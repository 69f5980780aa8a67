using Engagement.Durable;

namespace Engagement.Functions.Tests;

public sealed class FunctionsMetadataTests
{
    private static readonly IReadOnlyList<FunctionBinding> Functions = FunctionBinding.LoadBuilt();

    /// <summary>The HTTP surface of the Functions app: trigger, route, methods, auth level. Changing it is a contract change.</summary>
    public static TheoryData<string, string, string, string> HttpFunctions => new()
    {
        { "Health", "api/health", "GET", "Anonymous" },
        { "DurableProbeStart", "api/diagnostics/durable-probe", "POST", "Anonymous" },
        { "DurableProbeGet", "api/diagnostics/durable-probe/{instanceId}", "GET", "Anonymous" },
        { "DurableProbeProceed", "api/diagnostics/durable-probe/{instanceId}/proceed", "POST", "Anonymous" },
        { "EngagePage", "engage/{token}", "GET", "Anonymous" },
        { "EngageContext", "api/engage/{token}", "GET", "Anonymous" },
        { "EngageResponse", "api/engage/{token}/response", "POST", "Anonymous" },
        { "EngagePreferencesGet", "api/engage/{token}/preferences", "GET", "Anonymous" },
        { "EngagePreferencesPut", "api/engage/{token}/preferences", "PUT", "Anonymous" },
        { "EngageOverview", "api/engage/{token}/overview", "GET", "Anonymous" },
        { "StaticAssets", "static/{*path}", "GET", "Anonymous" },
        { "DiagnosticsLinkIssue", "api/diagnostics/links", "POST", "Anonymous" },
        { "DiagnosticsLinkUse", "api/diagnostics/links/use", "POST", "Anonymous" },
        { "DiagnosticsLinkRevoke", "api/diagnostics/links/{linkId}/revoke", "POST", "Anonymous" },
        { "DiagnosticsSmartAuthorize", "api/diagnostics/smart/authorize", "GET", "Anonymous" },
        { "FhirMetadata", "api/fhir/metadata", "GET", "Anonymous" },
        { "FhirSmartConfiguration", "api/fhir/.well-known/smart-configuration", "GET", "Anonymous" },
        { "FollowUpList", "api/followups", "GET", "Anonymous" },
        { "FollowUpGet", "api/followups/{instanceId}", "GET", "Anonymous" },
        { "FollowUpCancel", "api/followups/{instanceId}/cancel", "POST", "Anonymous" },
        { "Inbound", "api/inbound/{channel}", "POST", "Anonymous" },
        { "FhirRead", "api/fhir/{resourceType:regex(^(?-i)[A-Z][A-Za-z]+$)}/{id:regex(^[A-Za-z0-9.-]+$)}", "GET", "Anonymous" },
        { "FhirSearch", "api/fhir/{resourceType:regex(^(?-i)[A-Z][A-Za-z]+$)}", "GET", "Anonymous" },
        { "FhirUpdate", "api/fhir/{resourceType:regex(^(?-i)[A-Z][A-Za-z]+$)}/{id:regex(^[A-Za-z0-9.-]+$)}", "PUT", "Anonymous" },
        { "FhirCreateQuestionnaireResponse", "api/fhir/QuestionnaireResponse", "POST", "Anonymous" },
        { "NotificationPost", "api/notifications/{source}", "POST", "Anonymous" },
        { "NotificationPut", "api/notifications/{source}/{type}/{id}", "PUT", "Anonymous" },
        { "NotificationDelete", "api/notifications/{source}/{type}/{id}", "DELETE", "Anonymous" },
        { "EventsPost", "api/events/{source}", "POST", "Anonymous" },
        { "EventsOptions", "api/events/{source}", "OPTIONS", "Anonymous" },
        { "SubscriptionsGet", "api/subscriptions/{source}", "GET", "Anonymous" },
        { "MeasureReportEngagement", "api/fhir/MeasureReport/$engagement", "GET", "Anonymous" },
        { "MetricsEngagement", "api/metrics/engagement", "GET", "Anonymous" },
        { "Dashboard", "dashboard", "GET", "Anonymous" },
        { "DashboardAsset", "dashboard/assets/{name}", "GET", "Anonymous" },
    };

    [Theory]
    [MemberData(nameof(HttpFunctions))]
    public void Http_function_has_the_expected_trigger_route_methods_and_auth_level(string name, string route, string methods, string authLevel)
    {
        var function = Assert.Single(Functions, f => f.Name == name);
        Assert.Equal("httpTrigger", function.TriggerType);
        Assert.Equal(route, function.Route);
        Assert.Equal(methods.Split(','), function.Methods);
        Assert.Equal(authLevel, function.AuthLevel);
    }

    [Fact]
    public void Every_http_function_is_listed_in_the_expected_surface()
    {
        var expected = HttpFunctions.Select(row => (string)row[0]).ToHashSet();
        var actual = Functions.Where(f => f.TriggerType == "httpTrigger").Select(f => f.Name).ToHashSet();
        Assert.Equal(expected.Order(), actual.Order());
    }

    [Fact]
    public void Intake_queue_is_drained_by_a_queue_trigger_on_the_default_intake_queue()
    {
        var function = Assert.Single(Functions, f => f.Name == "IntakeProcess");
        Assert.Equal("queueTrigger", function.TriggerType);
    }

    [Fact]
    public void Every_core_orchestrator_has_an_orchestration_trigger_function_of_the_same_name()
    {
        foreach (var orchestrator in DurableTaskCatalog.Orchestrators)
        {
            var function = Assert.Single(Functions, f => f.Name == orchestrator.Name);
            Assert.Equal("orchestrationTrigger", function.TriggerType);
        }
    }

    [Fact]
    public void Every_core_activity_has_an_activity_trigger_function_of_the_same_name()
    {
        foreach (var activity in DurableTaskCatalog.Activities)
        {
            var function = Assert.Single(Functions, f => f.Name == activity.Name);
            Assert.Equal("activityTrigger", function.TriggerType);
        }
    }

    [Fact]
    public void Every_durable_function_is_in_the_core_catalog()
    {
        var catalog = DurableTaskCatalog.Orchestrators.Concat(DurableTaskCatalog.Activities).Select(t => t.Name).ToHashSet();
        var durable = Functions.Where(f => f.TriggerType is "orchestrationTrigger" or "activityTrigger").Select(f => f.Name);
        Assert.All(durable, name => Assert.Contains(name, catalog));
    }

    [Fact]
    public void The_route_prefix_is_empty_so_the_patient_page_is_served_outside_api()
    {
        // /engage/{token}, /dashboard and their /static/ files live outside /api (CONTRACT.md), so host.json has no route prefix and every
        // API function's route starts with api/ itself.
        using var hostJson = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(FunctionBinding.RepoRoot(), "host.json")));
        Assert.Equal(string.Empty, hostJson.RootElement.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
        var pages = new HashSet<string>(StringComparer.Ordinal) { "engage/{token}", "dashboard", "dashboard/assets/{name}", "static/{*path}" };
        Assert.All(
            Functions.Where(f => f.TriggerType == "httpTrigger" && !pages.Contains(f.Route!)),
            f => Assert.StartsWith("api/", f.Route, StringComparison.Ordinal));
    }

    [Fact]
    public void The_app_uses_the_root_host_json()
    {
        var root = Path.Combine(FunctionBinding.RepoRoot(), "host.json");
        var built = Path.Combine(Path.GetDirectoryName(typeof(FunctionsStartup).Assembly.Location)!, "host.json");
        Assert.True(File.Exists(built), "host.json is copied beside the worker");
        Assert.Equal(File.ReadAllText(root), File.ReadAllText(built));
    }
}
