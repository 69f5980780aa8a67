using System.Text.Json;
using Engagement.Testing;
using Hl7.Fhir.Model;

namespace Engagement.Profiles.Tests;

/// <summary>package.json, topics, subscriptions and measures hang together.</summary>
public sealed class PackageTests
{
    private const string Base = ProfileValidator.CanonicalBase;
    private const string Backport = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/";
    private static readonly string PackageDirectory = PackageFiles.FindPackageDirectory();
    private static readonly IReadOnlyList<Resource> Resources = ProfileValidator.Shared.PackageResources;
    private static readonly string?[] PayloadContents = ["full-resource", "id-only"];

    private static string? PayloadContent(Subscription s) =>
        (s.Channel.PayloadElement?.GetExtension(Backport + "backport-payload-content")?.Value as Code)?.Value;

    [Fact]
    public void Package_json_declares_an_R4_package_with_our_canonical()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(PackageDirectory, "package.json")));
        var root = doc.RootElement;

        Assert.Equal("engagement-functions.fhir", root.GetProperty("name").GetString());
        Assert.Matches(@"^\d+\.\d+\.\d+$", root.GetProperty("version").GetString());
        Assert.Equal(["4.0.1"], root.GetProperty("fhirVersions").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal("4.0.1", root.GetProperty("dependencies").GetProperty("hl7.fhir.r4.core").GetString());
        Assert.Equal(Base, root.GetProperty("canonical").GetString());
    }

    [Fact]
    public void Every_file_in_the_package_folder_is_a_resource_or_package_json_or_readme()
    {
        var others = Directory.EnumerateFiles(PackageDirectory)
            .Select(Path.GetFileName)
            .Where(n => n is not ("package.json" or "README.md") && !n!.EndsWith(".json", StringComparison.Ordinal))
            .ToList();

        Assert.Empty(others);
    }

    [Theory]
    [InlineData("encounter-discharge", "Encounter")]
    [InlineData("careplan-change", "CarePlan")]
    [InlineData("appointment-booked", "Appointment")]
    [InlineData("questionnaireresponse-completed", "QuestionnaireResponse")]
    public void Each_topic_is_shipped_as_a_Basic_SubscriptionTopic_on_its_resource(string id, string resourceType)
    {
        var topic = Assert.Single(Resources.OfType<Basic>(), b => b.Id == id);

        Assert.True(SubscriptionTopics.IsTopic(topic));
        Assert.Equal($"{Base}/SubscriptionTopic/{id}", SubscriptionTopics.Url(topic));
        Assert.Equal($"http://hl7.org/fhir/StructureDefinition/{resourceType}", SubscriptionTopics.TriggerResource(topic));
        Assert.Equal("active", SubscriptionTopics.Status(topic));
    }

    [Fact]
    public void Every_example_Subscription_is_a_backport_rest_hook_to_our_notifications_endpoint()
    {
        var subscriptions = Resources.OfType<Subscription>().ToList();
        Assert.NotEmpty(subscriptions);
        var topics = Resources.OfType<Basic>().Where(SubscriptionTopics.IsTopic).ToDictionary(t => SubscriptionTopics.Url(t)!);

        foreach (var s in subscriptions)
        {
            Assert.Contains(Backport + "backport-subscription", s.Meta?.Profile ?? []);
            Assert.True(topics.TryGetValue(s.Criteria ?? "", out var topic), $"{s.Id}: criteria {s.Criteria} is not a shipped topic");
            var filter = (s.CriteriaElement.GetExtension(Backport + "backport-filter-criteria")?.Value as FhirString)?.Value;
            var resource = SubscriptionTopics.TriggerResource(topic) ?? "";
            Assert.True(filter is null || resource.EndsWith("/" + filter.Split('?')[0], StringComparison.Ordinal), $"{s.Id}: filter {filter} is not on {resource}");
            Assert.Equal(Subscription.SubscriptionChannelType.RestHook, s.Channel.Type);
            Assert.Matches(@"^https://[^/]+/api/notifications/[A-Za-z0-9_-]+$", s.Channel.Endpoint);
            Assert.Equal("application/fhir+json", s.Channel.Payload);
            Assert.Contains(PayloadContent(s), PayloadContents);
            Assert.Contains(s.Channel.Header, h => h is not null && h.StartsWith("Authorization: Bearer ", StringComparison.Ordinal));
        }

        Assert.Equal(PayloadContents.ToHashSet(), subscriptions.Select(PayloadContent).ToHashSet());
    }

    [Theory]
    [InlineData("response-rate", "proportion")]
    [InlineData("time-to-respond", "continuous-variable")]
    [InlineData("follow-through", "proportion")]
    [InlineData("opt-out-rate", "proportion")]
    [InlineData("reminders-per-response", "ratio")]
    [InlineData("red-flag-acknowledgement-time", "continuous-variable")]
    [InlineData("messages-delivered", "proportion")]
    [InlineData("score-change", "continuous-variable")]
    public void Each_engagement_measure_has_the_populations_its_scoring_needs(string key, string scoring)
    {
        var measure = Assert.Single(Resources.OfType<Measure>(), m => m.Id == $"engagement-{key}");

        Assert.Equal(scoring, measure.Scoring?.Coding.Single().Code);
        var populations = measure.Group.Single().Population.Select(p => p.Code?.Coding.Single().Code).ToList();
        string[] expected = scoring == "continuous-variable"
            ? ["initial-population", "measure-population", "measure-observation"]
            : ["initial-population", "denominator", "numerator"];
        Assert.Equal(expected, populations);
        Assert.Equal(key, measure.Group.Single().Code?.Coding.Single().Code);
    }
}
