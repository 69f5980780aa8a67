using System.Text;
using Engagement.Intake;

namespace Engagement.Core.Tests.Intake;

public sealed class EventGridParserTests
{
    private static byte[] Fixture(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Intake", "Fixtures", name));

    [Fact]
    public void Event_Grid_schema_array_yields_the_resource_ids()
    {
        var delivery = EventGridParser.Parse(Fixture("eventgrid-encounter-updated.json"), 64, out var problem)!;
        Assert.Null(problem);
        var e = Assert.Single(delivery.Events);
        Assert.Equal(("Encounter", "enc-3003", "2", ClinicalEventKind.Updated), (e.ResourceType, e.ResourceId, e.VersionId, e.Kind));
    }

    [Fact]
    public void Single_CloudEvent_yields_the_resource_ids()
    {
        var e = Assert.Single(EventGridParser.Parse(Fixture("cloudevent-encounter-created.json"), 64, out _)!.Events);
        Assert.Equal(ClinicalEventKind.Created, e.Kind);
        Assert.Equal("enc-4004", e.ResourceId);
    }

    [Theory]
    [InlineData("{\"id\":\"1\",\"eventType\":\"Microsoft.HealthcareApis.FhirResourceCreated\"}", "CloudEvent")]
    [InlineData("[{\"id\":\"1\",\"eventType\":\"Contoso.Other\",\"data\":{}}]", "unsupported event type")]
    [InlineData("[{\"id\":\"1\",\"eventType\":\"Microsoft.HealthcareApis.FhirResourceCreated\",\"data\":{\"resourceType\":\"Nope\",\"resourceFhirId\":\"x\"}}]", "known resourceType")]
    [InlineData("[{\"eventType\":\"Microsoft.HealthcareApis.FhirResourceCreated\"}]", "'id'")]
    [InlineData("[]", "Expected a JSON array")]
    [InlineData("[{\"id\":\"1\",\"eventType\":\"Microsoft.EventGrid.SubscriptionValidationEvent\",\"data\":{}}]", "validationCode")]
    public void Bad_events_are_refused_with_a_named_problem(string json, string names)
    {
        Assert.Null(EventGridParser.Parse(Encoding.UTF8.GetBytes(json), 64, out var problem));
        Assert.Contains(names, problem!.Diagnostics, StringComparison.Ordinal);
    }
}
