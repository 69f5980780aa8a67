using System.Text;
using Engagement.Intake;
using Hl7.Fhir.Model;

namespace Engagement.Core.Tests.Intake;

public sealed class NotificationParserTests
{
    private static byte[] Fixture(string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Intake", "Fixtures", name));

    private static SubscriptionNotification Parse(string json)
    {
        var notification = NotificationParser.Parse(Encoding.UTF8.GetBytes(json), 64, out var problem);
        Assert.Null(problem);
        return notification!;
    }

    [Fact]
    public void Full_resource_notification_yields_its_event_and_finds_the_focus_by_absolute_fullUrl()
    {
        var n = NotificationParser.Parse(Fixture("notification-full-resource.json"), 64, out var problem)!;
        Assert.Null(problem);
        Assert.Equal(NotificationType.EventNotification, n.Type);
        Assert.Equal("sub-encounters", n.SubscriptionId);
        Assert.Equal(1, n.EventsSinceSubscriptionStart);
        var e = Assert.Single(n.Events);
        Assert.Equal(1, e.Number);
        var focus = Assert.IsType<Encounter>(n.FindResource(e.Focus!));
        Assert.Equal("enc-1001", focus.Id);
        Assert.Equal(Bundle.HTTPVerb.PUT, n.MethodFor(focus));
        Assert.True(n.DeliversEvents);
    }

    [Fact]
    public void Integer_event_numbers_are_read_like_string_ones()
    {
        var n = NotificationParser.Parse(Fixture("notification-id-only.json"), 64, out var problem)!;
        Assert.Null(problem);
        Assert.Equal(2, n.EventsSinceSubscriptionStart);
        Assert.Equal(2, Assert.Single(n.Events).Number);
        Assert.Null(n.FindResource("Encounter/enc-2002"));
    }

    [Fact]
    public void Urn_uuid_focus_is_found_by_fullUrl()
    {
        var json = Encoding.UTF8.GetString(Fixture("notification-full-resource.json"))
            .Replace("https://ehr.example.org/fhir/Encounter/enc-1001", "urn:uuid:4b1f1d5e-8a51-4d2b-9a0e-0f8e0c1d2e3f", StringComparison.Ordinal);
        var n = Parse(json);
        Assert.Equal("enc-1001", n.FindResource("urn:uuid:4b1f1d5e-8a51-4d2b-9a0e-0f8e0c1d2e3f")!.Id);
    }

    [Fact]
    public void Heartbeat_does_not_deliver_events_even_with_resources()
    {
        var n = NotificationParser.Parse(Fixture("notification-heartbeat.json"), 64, out _)!;
        Assert.Equal(NotificationType.Heartbeat, n.Type);
        Assert.False(n.DeliversEvents);
    }

    [Fact]
    public void Redelivery_has_the_same_dedupe_key_and_other_events_do_not()
    {
        var body = Fixture("notification-full-resource.json");
        var a = NotificationParser.Parse(body, 64, out _)!;
        var b = NotificationParser.Parse(body, 64, out _)!;
        Assert.Equal(a.DedupeKey(IntakeKeys.ForBytes(body)), b.DedupeKey("different-hash-is-ignored-for-events"));
        var other = Parse(Encoding.UTF8.GetString(body).Replace("\"valueString\": \"1\" },\n              { \"name\": \"timestamp\"", "\"valueString\": \"2\" },\n              { \"name\": \"timestamp\"", StringComparison.Ordinal));
        Assert.Equal(2, other.Events[0].Number);
        Assert.NotEqual(a.DedupeKey(""), other.DedupeKey(""));
        Assert.Equal(a.DedupeKey(""), a.DedupeKey(() => throw new InvalidOperationException("an event delivery is not hashed")));
    }

    [Fact]
    public void A_heartbeat_is_keyed_by_its_body_hash()
    {
        var heartbeat = NotificationParser.Parse(Fixture("notification-heartbeat.json"), 64, out _)!;
        var hashed = 0;
        Assert.EndsWith("|h1", heartbeat.DedupeKey(() => { hashed++; return "h1"; }), StringComparison.Ordinal);
        Assert.Equal(1, hashed);
        Assert.NotEqual(heartbeat.DedupeKey("h1"), heartbeat.DedupeKey("h2"));
    }

    [Theory]
    [InlineData("{", 400, "not valid JSON")]
    [InlineData("[1,2]", 400, "not a JSON object")]
    [InlineData("{\"resourceType\":\"Patient\",\"id\":\"p\"}", 422, "got a Patient")]
    [InlineData("{\"resourceType\":\"Bundle\",\"type\":\"history\"}", 422, "first entry")]
    [InlineData("{\"resourceType\":\"Bundle\",\"type\":\"history\",\"entry\":[{\"resource\":{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"type\",\"valueCode\":\"heartbeat\"}]}}]}", 422, "'subscription'")]
    [InlineData("{\"resourceType\":\"Bundle\",\"type\":\"history\",\"entry\":[{\"resource\":{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"subscription\",\"valueReference\":{\"reference\":\"Subscription/s\"}},{\"name\":\"type\",\"valueCode\":\"gossip\"}]}}]}", 422, "Unknown notification type")]
    [InlineData("{\"resourceType\":\"Bundle\",\"type\":\"history\",\"entry\":[{\"resource\":{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"subscription\",\"valueReference\":{\"reference\":\"Subscription/s\"}},{\"name\":\"type\",\"valueCode\":\"heartbeat\"},{\"name\":\"events-since-subscription-start\",\"valueString\":\"12a\"}]}}]}", 422, "non-negative integer")]
    [InlineData("{\"resourceType\":\"Bundle\",\"type\":\"history\",\"entry\":[{\"resource\":{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"subscription\",\"valueReference\":{\"reference\":\"Subscription/s\"}},{\"name\":\"type\",\"valueCode\":\"event-notification\"},{\"name\":\"notification-event\",\"part\":[{\"name\":\"event-number\",\"valueInteger\":-4}]}]}}]}", 422, "event-number")]
    [InlineData("{\"resourceType\":\"Bundle\",\"type\":\"history\",\"entry\":[{\"resource\":{\"resourceType\":\"Parameters\",\"parameter\":[{\"name\":\"subscription\",\"valueReference\":{\"reference\":\"Subscription/s\"}},{\"name\":\"type\",\"valueCode\":\"event-notification\"},{\"name\":\"notification-event\",\"part\":[{\"name\":\"event-number\",\"valueString\":\"3\"}]},{\"name\":\"notification-event\",\"part\":[{\"name\":\"event-number\",\"valueString\":\"3\"}]}]}}]}", 422, "appears twice")]
    public void Bad_notifications_are_refused_with_a_named_problem(string json, int status, string names)
    {
        Assert.Null(NotificationParser.Parse(Encoding.UTF8.GetBytes(json), 64, out var problem));
        Assert.Equal(status, problem!.StatusCode);
        Assert.Contains(names, problem.Diagnostics, StringComparison.Ordinal);
    }

    [Fact]
    public void Nesting_beyond_the_limit_is_refused_before_parsing()
    {
        var deep = new string('[', 65) + new string(']', 65);
        var problem = NotificationParser.CheckJson(Encoding.UTF8.GetBytes(deep), 64);
        Assert.Equal(400, problem!.StatusCode);
        Assert.Contains("deeper than 64", problem.Diagnostics, StringComparison.Ordinal);
        Assert.Null(NotificationParser.CheckJson(Encoding.UTF8.GetBytes(new string('[', 60) + new string(']', 60)), 64));
    }

    [Theory]
    [InlineData("https://ehr.example.org/fhir/Encounter/e1/_history/4", "Encounter", "e1", "4")]
    [InlineData("Encounter/e1", "Encounter", "e1", null)]
    [InlineData("Patient/p-2?x=1", "Patient", "p-2", null)]
    public void References_parse_relative_absolute_and_versioned(string reference, string type, string id, string? version)
    {
        Assert.True(ResourceRef.TryParse(reference, out var parsed));
        Assert.Equal(new ResourceRef(type, id, version), parsed);
    }

    [Theory]
    [InlineData("urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427")]
    [InlineData("#contained")]
    [InlineData("")]
    public void Non_resource_references_do_not_parse(string reference) => Assert.False(ResourceRef.TryParse(reference, out _));
}
