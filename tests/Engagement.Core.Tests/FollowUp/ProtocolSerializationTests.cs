using System.Text.Json;
using Engagement.FollowUp;
using Microsoft.Extensions.Time.Testing;
using static Engagement.Core.Tests.FollowUp.FollowUpFixtures;

namespace Engagement.Core.Tests.FollowUp;

/// <summary>Protocols travel as durable orchestration inputs (System.Text.Json): nothing may be lost on the way.</summary>
public class ProtocolSerializationTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    public static TheoryData<string> ShippedPlanIds => new() { "post-discharge", "depression-monitoring", "appointment-reminder" };

    [Theory]
    [MemberData(nameof(ShippedPlanIds))]
    public void Shipped_protocol_round_trips_through_json_and_schedules_the_same(string id)
    {
        var protocol = ShippedProtocol(id);

        var copy = JsonSerializer.Deserialize<ProtocolDefinition>(JsonSerializer.Serialize(protocol, Web), Web)!;

        var scheduler = new FollowUpScheduler(new FakeTimeProvider(DateTimeOffset.UnixEpoch));
        var anchor = new DateTimeOffset(2026, 3, 6, 15, 0, 0, TimeSpan.Zero);
        var zone = Zone("America/New_York");
        var expected = scheduler.Schedule(protocol, anchor, zone, ContactWindow.Default, 86400).Occurrences;
        var actual = scheduler.Schedule(copy, anchor, zone, ContactWindow.Default, 86400).Occurrences;
        Assert.Equal(
            expected.Select(o => (o.Key, o.DueUtc, string.Join(",", o.RemindersUtc), o.EscalationUtc, o.LinkExpiresUtc)),
            actual.Select(o => (o.Key, o.DueUtc, string.Join(",", o.RemindersUtc), o.EscalationUtc, o.LinkExpiresUtc)));
        Assert.Equal(protocol.Triggers.ToArray(), copy.Triggers.ToArray());
        Assert.Equal(protocol.Anchor, copy.Anchor);
        Assert.Equal(protocol.StopWhen, copy.StopWhen);
        Assert.Equal(protocol.Activities.Select(a => (a.Content, a.Escalation, a.Reminders, a.ResponseWindow)), copy.Activities.Select(a => (a.Content, a.Escalation, a.Reminders, a.ResponseWindow)));
    }

    [Fact]
    public void Contact_window_round_trips_through_json()
    {
        var window = new ContactWindow(new TimeOnly(10, 0), new TimeOnly(19, 30));

        Assert.Equal(window, JsonSerializer.Deserialize<ContactWindow>(JsonSerializer.Serialize(window, Web), Web));
    }
}
