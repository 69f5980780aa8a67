using Engagement.Durable;

namespace Engagement.Functions.Tests;

public sealed class FunctionsMetadataTests
{
    private static readonly IReadOnlyList<FunctionBinding> Functions = FunctionBinding.LoadBuilt();

    /// <summary>The HTTP surface of the Functions app: trigger, route, methods, auth level. Changing it is a contract change.</summary>
    public static TheoryData<string, string, string, string> HttpFunctions => new()
    {
        { "Health", "health", "GET", "Anonymous" },
        { "DurableProbeStart", "diagnostics/durable-probe", "POST", "Anonymous" },
        { "DurableProbeGet", "diagnostics/durable-probe/{instanceId}", "GET", "Anonymous" },
        { "DurableProbeProceed", "diagnostics/durable-probe/{instanceId}/proceed", "POST", "Anonymous" },
        { "NotificationPost", "notifications/{source}", "POST", "Anonymous" },
        { "NotificationPut", "notifications/{source}/{type}/{id}", "PUT", "Anonymous" },
        { "NotificationDelete", "notifications/{source}/{type}/{id}", "DELETE", "Anonymous" },
        { "EventsPost", "events/{source}", "POST", "Anonymous" },
        { "EventsOptions", "events/{source}", "OPTIONS", "Anonymous" },
        { "SubscriptionsGet", "subscriptions/{source}", "GET", "Anonymous" },
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
    public void The_app_uses_the_root_host_json()
    {
        var root = Path.Combine(FunctionBinding.RepoRoot(), "host.json");
        var built = Path.Combine(Path.GetDirectoryName(typeof(FunctionsStartup).Assembly.Location)!, "host.json");
        Assert.True(File.Exists(built), "host.json is copied beside the worker");
        Assert.Equal(File.ReadAllText(root), File.ReadAllText(built));
    }
}
