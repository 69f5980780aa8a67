using System.Net;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Engagement.Integration.Tests.Infrastructure;

namespace Engagement.Integration.Tests.Intake;

/// <summary>EHR event intake through the standalone host over HTTP, on Azurite, with an in-test FHIR server as the EHR.</summary>
[Collection(IntakeCollection.Name)]
public sealed class IntakeTests(IntakeFixture fx)
{
    private static readonly string[] RestHookIds = ["enc-put-1", "enc-del-1", "enc-ping-1"];

    private static int Events(List<TableEntity> rows, string subscription) =>
        rows.Count(r => (r.GetString("Subscription") ?? "").EndsWith(subscription, StringComparison.Ordinal));

    /// <summary>
    /// Event 1 of <paramref name="sub"/> fully processed: its journal row is written before routing and the subscription
    /// state after it. Notifications are processed concurrently, so without this a later one could be the subscription's
    /// first word (no earlier numbers to miss) and the gap a test opens would not be one.
    /// </summary>
    private Task<JsonElement> EventOneProcessedAsync(string sub) => Poll.UntilAsync(() => fx.SubscriptionAsync("ehr1", sub),
        s => s.ValueKind == JsonValueKind.Object && s.GetProperty("lastEventNumber").GetInt64() == 1, TimeSpan.FromSeconds(30), "event 1 processed");

    [Fact]
    public async Task Handshake_is_acknowledged_and_the_subscription_shows_its_status_and_heartbeat_period()
    {
        var sub = Notifications.NewSubscription();
        using var response = await fx.PostNotificationAsync(Notifications.Build("notification-handshake.json", sub));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("OperationOutcome", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var state = await Poll.UntilAsync(() => fx.SubscriptionAsync("ehr1", sub), s => s.ValueKind == JsonValueKind.Object, TimeSpan.FromSeconds(30), "subscription state");
        Assert.Equal("requested", state.GetProperty("status").GetString());
        Assert.Equal(0, state.GetProperty("lastEventNumber").GetInt64());
        Assert.Equal(3600, state.GetProperty("heartbeatPeriodSeconds").GetDouble());
        Assert.False(state.GetProperty("stale").GetBoolean());
    }

    [Fact]
    public async Task Full_resource_event_is_journaled_with_its_resource_and_routed()
    {
        var sub = Notifications.NewSubscription();
        using var response = await fx.PostNotificationAsync(Notifications.Build("notification-full-resource.json", sub, 1, 1));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var rows = await fx.WaitForEventsAsync("ehr1", r => r.Any(e => (e.GetString("Subscription") ?? "").EndsWith(sub, StringComparison.Ordinal) && e.GetBoolean("Routed") == true), "routed event");
        var row = Assert.Single(rows, r => (r.GetString("Subscription") ?? "").EndsWith(sub, StringComparison.Ordinal));
        Assert.Equal("Encounter", row.GetString("ResourceType"));
        Assert.Equal("enc-1001", row.GetString("ResourceId"));
        Assert.Equal("3", row.GetString("VersionId"));
        Assert.Equal(1, row.GetInt64("EventNumber"));
        Assert.Equal("http://hl7.org/SubscriptionTopic/encounter-complete", row.GetString("Topic"));
        Assert.Contains("\"finished\"", Encoding.UTF8.GetString(row.GetBinary("Resource")!), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Id_only_event_with_integer_event_numbers_fetches_the_resource_from_the_source()
    {
        var sub = Notifications.NewSubscription();
        var body = Notifications.Fixture("notification-id-only.json").Replace("sub-encounters", sub, StringComparison.Ordinal);
        using var response = await fx.PostNotificationAsync(body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var rows = await fx.WaitForEventsAsync("ehr1", r => Events(r, sub) == 1, "fetched event");
        var row = Assert.Single(rows, r => (r.GetString("Subscription") ?? "").EndsWith(sub, StringComparison.Ordinal));
        Assert.Equal("enc-2002", row.GetString("ResourceId"));
        Assert.Equal(2, row.GetInt64("EventNumber"));
        Assert.NotNull(row.GetBinary("Resource"));
        Assert.Contains(fx.Fhir.Requests, r => r.StartsWith("/fhir/Encounter/enc-2002", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Empty_payload_event_is_resolved_through_the_events_operation()
    {
        var sub = Notifications.NewSubscription();
        using var handshake = await fx.PostNotificationAsync(Notifications.Build("notification-handshake.json", sub, 2));
        await Poll.UntilAsync(() => fx.SubscriptionAsync("ehr1", sub), s => s.ValueKind == JsonValueKind.Object, TimeSpan.FromSeconds(30), "handshake processed");
        using var response = await fx.PostNotificationAsync(Notifications.Build("notification-empty.json", sub, 3, 3));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var rows = await fx.WaitForEventsAsync("ehr1", r => Events(r, sub) == 1, "event from $events");
        var row = Assert.Single(rows, r => (r.GetString("Subscription") ?? "").EndsWith(sub, StringComparison.Ordinal));
        Assert.Equal("enc-ev3", row.GetString("ResourceId"));
        Assert.Contains(fx.Fhir.Requests, r => r.Contains($"{sub}/$events", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Heartbeat_repeating_the_last_events_resources_is_not_a_new_event()
    {
        var sub = Notifications.NewSubscription();
        await fx.PostNotificationAsync(Notifications.Build("notification-full-resource.json", sub, 1, 1));
        await fx.WaitForEventsAsync("ehr1", r => Events(r, sub) == 1, "first event");
        using var heartbeat = await fx.PostNotificationAsync(Notifications.Build("notification-heartbeat.json", sub, 1, 1));
        Assert.Equal(HttpStatusCode.OK, heartbeat.StatusCode);

        var state = await Poll.UntilAsync(() => fx.SubscriptionAsync("ehr1", sub), s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty("lastHeartbeat", out var h) && h.ValueKind == JsonValueKind.String, TimeSpan.FromSeconds(30), "heartbeat processed");
        Assert.Equal(1, state.GetProperty("lastEventNumber").GetInt64());
        Assert.Equal(0, state.GetProperty("gapsFound").GetInt64());
        Assert.Equal(1, Events(await fx.RowsAsync("Events", "ehr1"), sub));
    }

    [Fact]
    public async Task Gap_in_event_numbers_is_recovered_through_events_from_the_source()
    {
        var sub = Notifications.NewSubscription();
        await fx.PostNotificationAsync(Notifications.Build("notification-full-resource.json", sub, 1, 1));
        await EventOneProcessedAsync(sub);
        using var response = await fx.PostNotificationAsync(Notifications.Build("notification-full-resource.json", sub, 4, 4));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var rows = await fx.WaitForEventsAsync("ehr1", r => Events(r, sub) == 4, "events 2 and 3 recovered");
        Assert.Equal([1L, 2L, 3L, 4L], rows.Where(r => (r.GetString("Subscription") ?? "").EndsWith(sub, StringComparison.Ordinal)).Select(r => r.GetInt64("EventNumber")!.Value).Order());
        var state = await Poll.UntilAsync(() => fx.SubscriptionAsync("ehr1", sub), s => s.ValueKind == JsonValueKind.Object && s.GetProperty("gapsRecovered").GetInt64() == 2, TimeSpan.FromSeconds(30), "gap recorded as recovered");
        Assert.Equal(2, state.GetProperty("gapsFound").GetInt64());
        Assert.Empty(state.GetProperty("missing").EnumerateArray());
        Assert.Contains(fx.Fhir.Requests, r => r.Contains($"{sub}/$events?eventsSinceNumber=2&eventsUntilNumber=3", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Gap_on_a_server_without_events_falls_back_to_status_and_a_requery()
    {
        var sub = Notifications.NewSubscription();
        await fx.PostNotificationAsync(Notifications.Build("notification-full-resource.json", sub, 1, 1));
        await EventOneProcessedAsync(sub);
        fx.Fhir.EventsSupported = false;
        fx.Fhir.SearchResults.Add("enc-requery-" + sub);
        try
        {
            await fx.PostNotificationAsync(Notifications.Build("notification-full-resource.json", sub, 3, 3));
            await fx.WaitForEventsAsync("ehr1", r => r.Any(e => e.GetString("ResourceId") == "enc-requery-" + sub), "re-queried resource");
            var state = await Poll.UntilAsync(() => fx.SubscriptionAsync("ehr1", sub), s => s.ValueKind == JsonValueKind.Object && s.GetProperty("gapsRecovered").GetInt64() == 1, TimeSpan.FromSeconds(30), "gap closed by the re-query");
            Assert.Equal(1, state.GetProperty("gapsFound").GetInt64());
            Assert.Contains(fx.Fhir.Requests, r => r.EndsWith($"{sub}/$status", StringComparison.Ordinal));
        }
        finally
        {
            fx.Fhir.EventsSupported = true;
        }
    }

    [Fact]
    public async Task Smart_backend_services_source_fetches_with_a_token_from_a_signed_assertion()
    {
        using var put = await IntakeFixture.SendAsync(fx.Host, HttpMethod.Put, "/api/notifications/smart/Encounter/enc-smart-1", null, IntakeFixture.SmartSecret);
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        var rows = await fx.WaitForEventsAsync("smart", r => r.Any(e => e.GetString("ResourceId") == "enc-smart-1"), "fetched with SMART auth");
        Assert.NotNull(rows.Single().GetBinary("Resource"));
        Assert.Contains($"/fhir/Encounter/enc-smart-1 Bearer {FakeFhirServer.IssuedToken}", fx.Fhir.Authorizations);
    }

    [Fact]
    public async Task Query_status_announcing_more_events_than_received_opens_a_gap_that_is_recovered()
    {
        var sub = Notifications.NewSubscription();
        await fx.PostNotificationAsync(Notifications.Build("notification-full-resource.json", sub, 1, 1));
        await EventOneProcessedAsync(sub);
        using var response = await fx.PostNotificationAsync(Notifications.Build("notification-query-status.json", sub, 3));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        await fx.WaitForEventsAsync("ehr1", r => Events(r, sub) == 3, "events 2 and 3 recovered");
        var state = await Poll.UntilAsync(() => fx.SubscriptionAsync("ehr1", sub), s => s.ValueKind == JsonValueKind.Object && s.GetProperty("gapsRecovered").GetInt64() == 2, TimeSpan.FromSeconds(30), "gap recovered");
        Assert.Equal(3, state.GetProperty("lastEventNumber").GetInt64());
    }

    [Fact]
    public async Task Out_of_order_events_close_the_gap_when_the_late_event_arrives()
    {
        var sub = Notifications.NewSubscription();
        await fx.PostNotificationAsync(Notifications.Build("notification-full-resource.json", sub, 1, 1), "nofhir", IntakeFixture.NoFhirSecret);
        await Poll.UntilAsync(() => fx.SubscriptionAsync("nofhir", sub), s => s.ValueKind == JsonValueKind.Object, TimeSpan.FromSeconds(30), "event 1");
        await fx.PostNotificationAsync(Notifications.Build("notification-full-resource.json", sub, 3, 3), "nofhir", IntakeFixture.NoFhirSecret);
        var open = await Poll.UntilAsync(() => fx.SubscriptionAsync("nofhir", sub), s => s.ValueKind == JsonValueKind.Object && s.GetProperty("lastEventNumber").GetInt64() == 3, TimeSpan.FromSeconds(30), "event 3");
        Assert.Equal([2], open.GetProperty("missing").EnumerateArray().Select(e => e.GetInt64()));

        await fx.PostNotificationAsync(Notifications.Build("notification-full-resource.json", sub, 3, 2), "nofhir", IntakeFixture.NoFhirSecret);
        var closed = await Poll.UntilAsync(() => fx.SubscriptionAsync("nofhir", sub), s => s.ValueKind == JsonValueKind.Object && s.GetProperty("missing").GetArrayLength() == 0, TimeSpan.FromSeconds(30), "late event 2");
        // Within the grace period (2 s here) event 2 was merely late; after it, a declared gap that closed. Once either way.
        Assert.Equal(1, closed.GetProperty("lateArrivals").GetInt64() + closed.GetProperty("gapsFound").GetInt64());
        Assert.Equal(closed.GetProperty("gapsFound").GetInt64(), closed.GetProperty("gapsRecovered").GetInt64());
        Assert.Equal(3, Events(await fx.RowsAsync("Events", "nofhir"), sub));
    }

    [Fact]
    public async Task Overdue_heartbeat_marks_the_subscription_stale()
    {
        var sub = Notifications.NewSubscription();
        await fx.PostNotificationAsync(Notifications.Build("notification-heartbeat.json", sub, 0), "nofhir", IntakeFixture.NoFhirSecret);
        var state = await Poll.UntilAsync(() => fx.SubscriptionAsync("nofhir", sub), s => s.ValueKind == JsonValueKind.Object && s.GetProperty("stale").GetBoolean(), TimeSpan.FromSeconds(30), "stale after the 1 s heartbeat period");
        Assert.Equal("active", state.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Duplicate_notification_is_acknowledged_and_has_no_second_effect()
    {
        var sub = Notifications.NewSubscription();
        var body = Notifications.Build("notification-full-resource.json", sub, 1, 1);
        using var first = await fx.PostNotificationAsync(body);
        await fx.WaitForEventsAsync("ehr1", r => Events(r, sub) == 1, "first delivery");
        using var second = await fx.PostNotificationAsync(body);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Contains("Already received", await second.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await Task.Delay(1500);
        Assert.Equal(1, Events(await fx.RowsAsync("Events", "ehr1"), sub));
    }

    [Fact]
    public async Task Concurrent_duplicates_store_one_inbox_row_and_one_event()
    {
        var sub = Notifications.NewSubscription();
        var body = Notifications.Build("notification-full-resource.json", sub, 1, 1);
        var before = (await fx.RowsAsync("Inbox", "ehr1")).Count;
        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => fx.PostNotificationAsync(body)));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Single(await Task.WhenAll(responses.Select(r => r.Content.ReadAsStringAsync())), t => t.Contains("Stored", StringComparison.Ordinal));
        await fx.WaitForEventsAsync("ehr1", r => Events(r, sub) == 1, "one event");
        Assert.Equal(before + 1, (await fx.RowsAsync("Inbox", "ehr1")).Count);
    }

    [Fact]
    public async Task Classic_rest_hook_put_delete_and_ping_become_events()
    {
        var encounter = FakeFhirServer.Encounter("enc-put-1", "7").ToJsonString();
        using var put = await IntakeFixture.SendAsync(fx.Host, HttpMethod.Put, "/api/notifications/ehr1/Encounter/enc-put-1", encounter);
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        using var delete = await IntakeFixture.SendAsync(fx.Host, HttpMethod.Delete, "/api/notifications/ehr1/Encounter/enc-del-1", null);
        Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        fx.Fhir.SearchResults.Add("enc-ping-1");
        using var ping = await IntakeFixture.SendAsync(fx.Host, HttpMethod.Post, "/api/notifications/ehr1", null);
        Assert.Equal(HttpStatusCode.OK, ping.StatusCode);

        var rows = await fx.WaitForEventsAsync("ehr1", r => RestHookIds.All(id => r.Any(e => e.GetString("ResourceId") == id)), "rest-hook events");
        Assert.Equal("7", rows.Single(r => r.GetString("ResourceId") == "enc-put-1").GetString("VersionId"));
        Assert.Equal("Deleted", rows.Single(r => r.GetString("ResourceId") == "enc-del-1").GetString("Kind"));
        Assert.Contains(fx.Fhir.Requests, r => r.StartsWith("/fhir/Encounter?status=finished&_lastUpdated=ge", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Event_Grid_validation_handshake_answers_the_validation_code_and_stores_nothing()
    {
        var before = (await fx.RowsAsync("Inbox", "ehr1")).Count;
        using var response = await IntakeFixture.SendAsync(fx.Host, HttpMethod.Post, "/api/events/ehr1", Notifications.Fixture("eventgrid-validation.json"), mediaType: "application/json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("512d38b6-c7b8-40c8-89fe-f46f9e9622b6", doc.RootElement.GetProperty("validationResponse").GetString());
        Assert.Equal(before, (await fx.RowsAsync("Inbox", "ehr1")).Count);
    }

    [Fact]
    public async Task Event_Grid_and_CloudEvents_events_fetch_the_resource_version_once()
    {
        using var grid = await IntakeFixture.SendAsync(fx.Host, HttpMethod.Post, "/api/events/ehr1", Notifications.Fixture("eventgrid-encounter-updated.json"), mediaType: "application/json");
        Assert.Equal(HttpStatusCode.OK, grid.StatusCode);
        using var again = await IntakeFixture.SendAsync(fx.Host, HttpMethod.Post, "/api/events/ehr1", Notifications.Fixture("eventgrid-encounter-updated.json"), mediaType: "application/json");
        Assert.Contains("1 already received", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var cloud = await IntakeFixture.SendAsync(fx.Host, HttpMethod.Post, "/api/events/ehr1", Notifications.Fixture("cloudevent-encounter-created.json"), mediaType: "application/cloudevents+json; charset=utf-8");
        Assert.Equal(HttpStatusCode.OK, cloud.StatusCode);

        var rows = await fx.WaitForEventsAsync("ehr1", r => r.Any(e => e.GetString("ResourceId") == "enc-3003") && r.Any(e => e.GetString("ResourceId") == "enc-4004"), "grid events");
        Assert.Single(rows, r => r.GetString("ResourceId") == "enc-3003");
        Assert.Equal("Created", rows.Single(r => r.GetString("ResourceId") == "enc-4004").GetString("Kind"));
        Assert.Contains(fx.Fhir.Requests, r => r == "/fhir/Encounter/enc-3003/_history/2");
    }

    [Fact]
    public async Task CloudEvents_options_handshake_allows_the_requesting_origin()
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, new Uri("/api/events/ehr1", UriKind.Relative));
        request.Headers.Add("WebHook-Request-Origin", "eventgrid.azure.net");
        using var response = await fx.Host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("eventgrid.azure.net", response.Headers.GetValues("WebHook-Allowed-Origin").Single());

        using var unknown = new HttpRequestMessage(HttpMethod.Options, new Uri("/api/events/nobody", UriKind.Relative));
        unknown.Headers.Add("WebHook-Request-Origin", "eventgrid.azure.net");
        Assert.Equal(HttpStatusCode.NotFound, (await fx.Host.Client.SendAsync(unknown)).StatusCode);
    }

    [Fact]
    public async Task Signed_source_accepts_a_correct_signature_and_refuses_a_wrong_one()
    {
        var body = Notifications.Build("notification-handshake.json", Notifications.NewSubscription());
        using var good = await IntakeFixture.SendAsync(fx.Host, HttpMethod.Post, "/api/notifications/signed", body, IntakeFixture.SignedSecret, signatureKey: IntakeFixture.HmacKey);
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        using var bad = await IntakeFixture.SendAsync(fx.Host, HttpMethod.Post, "/api/notifications/signed", body + " ", IntakeFixture.SignedSecret, signatureKey: "other-key");
        Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);
        using var missing = await IntakeFixture.SendAsync(fx.Host, HttpMethod.Post, "/api/notifications/signed", body, IntakeFixture.SignedSecret);
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
    }

    public static TheoryData<string, string, string, string?, int, string> BadInputs()
    {
        var sub = "sub-bad";
        var valid = Notifications.Build("notification-full-resource.json", sub, 1, 1);
        var deep = new string('[', 200) + new string(']', 200);
        return new()
        {
            { "malformed JSON", "ehr1", "{\"resourceType\": \"Bundle\", ", IntakeFixture.Secret, 400, "not valid JSON" },
            { "not a Bundle", "ehr1", "{\"resourceType\":\"Patient\",\"id\":\"x\"}", IntakeFixture.Secret, 422, "notification Bundle" },
            { "not a history Bundle", "ehr1", valid.Replace("\"history\"", "\"collection\"", StringComparison.Ordinal), IntakeFixture.Secret, 422, "type history" },
            { "no status entry", "ehr1", "{\"resourceType\":\"Bundle\",\"type\":\"history\",\"entry\":[{\"resource\":{\"resourceType\":\"Encounter\",\"id\":\"e\",\"status\":\"finished\",\"class\":{\"code\":\"IMP\"}}}]}", IntakeFixture.Secret, 422, "subscription-status" },
            { "unknown notification type", "ehr1", valid.Replace("\"event-notification\"", "\"surprise\"", StringComparison.Ordinal), IntakeFixture.Secret, 422, "Unknown notification type" },
            { "negative event number", "ehr1", valid.Replace("{\"name\":\"event-number\",\"valueString\":\"1\"}", "{\"name\":\"event-number\",\"valueString\":\"-1\"}", StringComparison.Ordinal), IntakeFixture.Secret, 422, "event-number" },
            { "non-numeric event number", "ehr1", valid.Replace("{\"name\":\"event-number\",\"valueString\":\"1\"}", "{\"name\":\"event-number\",\"valueString\":\"one\"}", StringComparison.Ordinal), IntakeFixture.Secret, 422, "event-number" },
            { "negative integer events-since", "ehr1", Notifications.Fixture("notification-id-only.json").Replace("\"valueInteger\": 2 }", "\"valueInteger\": -2 }", StringComparison.Ordinal), IntakeFixture.Secret, 422, "events-since-subscription-start" },
            { "absurd nesting", "ehr1", deep, IntakeFixture.Secret, 400, "nesting" },
            { "array instead of a Bundle", "ehr1", "[[[[{}]]]]", IntakeFixture.Secret, 400, "not a JSON object" },
            // Found by the fuzzer (was 503: Parameters.GetSingle threw on the repeated parameter).
            { "repeated notification type", "ehr1", valid.Replace("{\"name\":\"type\",\"valueCode\":\"event-notification\"}", "{\"name\":\"type\",\"valueCode\":\"event-notification\"},{\"name\":\"type\",\"valueCode\":\"heartbeat\"}", StringComparison.Ordinal), IntakeFixture.Secret, 422, "'type' appears more than once" },
            // Found by the long fuzzer (was 503: backwards-compatible parsing keeps an unknown code, and Bundle.Type threw on it).
            { "Bundle type outside the value set", "ehr1", valid.Replace("\"history\"", "\"Patient\"", StringComparison.Ordinal), IntakeFixture.Secret, 422, "type history" },
            { "Bundle type a number", "ehr1", valid.Replace("\"history\"", "\"-99999999999999999999\"", StringComparison.Ordinal), IntakeFixture.Secret, 422, "type history" },
            { "unknown source", "nobody", valid, IntakeFixture.Secret, 404, "Unknown source" },
            { "missing bearer", "ehr1", valid, null, 401, "Bearer" },
            { "wrong bearer", "ehr1", valid, "guess", 401, "not valid" },
        };
    }

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task Bad_input_gets_a_4xx_OperationOutcome_naming_the_problem_and_nothing_is_stored(string _, string source, string body, string? secret, int status, string names)
    {
        var before = (await fx.RowsAsync("Inbox", source)).Count;
        using var response = await fx.PostNotificationAsync(body, source, secret);
        Assert.Equal(status, (int)response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains("\"OperationOutcome\"", text, StringComparison.Ordinal);
        Assert.Contains(names, text, StringComparison.Ordinal);
        Assert.Equal(before, (await fx.RowsAsync("Inbox", source)).Count);
    }

    [Theory]
    [InlineData("/api/notifications/ehr1", "application/fhir+json", false)]
    [InlineData("/api/events/ehr1", "application/json", false)]
    [InlineData("/api/notifications/ehr1", "application/fhir+json", true)]
    [InlineData("/api/events/ehr1", "application/json", true)]
    public async Task Text_that_is_not_valid_UTF8_is_400_not_5xx_and_nothing_is_stored(string path, string mediaType, bool escapedLoneSurrogate)
    {
        // Found by the fuzzer (was 503): the JSON reader checks structure, and the bad text only failed when read —
        // raw bytes that are not UTF-8, or (the long fuzzer) an escaped lone surrogate "\uD800" in ASCII bytes.
        var valid = path.Contains("events", StringComparison.Ordinal)
            ? Notifications.Fixture("eventgrid-encounter-updated.json")
            : Notifications.Build("notification-full-resource.json", Notifications.NewSubscription(), 1, 1);
        var at = valid.IndexOf("Encounter", StringComparison.Ordinal);
        var bytes = Encoding.UTF8.GetBytes(escapedLoneSurrogate ? valid[..at] + "\\uD800" + valid[at..] : valid);
        if (!escapedLoneSurrogate)
        {
            bytes[at] = 0xB1; // a continuation byte with no lead byte
        }

        var before = (await fx.RowsAsync("Inbox", "ehr1")).Count;
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new(mediaType);
        request.Headers.Authorization = new("Bearer", IntakeFixture.Secret);
        using var response = await fx.Host.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("not valid UTF-8", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(before, (await fx.RowsAsync("Inbox", "ehr1")).Count);
    }

    [Theory]
    [InlineData("\"2\\u0000\"")]
    [InlineData("1E+308")]
    [InlineData("\"a/b\"")]
    public async Task An_Event_Grid_version_id_that_is_not_a_FHIR_id_is_422_and_nothing_is_stored(string version)
    {
        // Found by the long fuzzer (was 503: the value went into the inbox row and the table write failed).
        var body = Notifications.Fixture("eventgrid-encounter-updated.json").Replace("\"resourceVersionId\": 2", "\"resourceVersionId\": " + version, StringComparison.Ordinal);
        var before = (await fx.RowsAsync("Inbox", "ehr1")).Count;
        using var response = await IntakeFixture.SendAsync(fx.Host, HttpMethod.Post, "/api/events/ehr1", body, mediaType: "application/json");

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("resourceVersionId", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(before, (await fx.RowsAsync("Inbox", "ehr1")).Count);
    }

    [Fact]
    public async Task Wrong_media_type_is_415_and_a_body_over_the_limit_is_413()
    {
        var valid = Notifications.Build("notification-handshake.json", Notifications.NewSubscription());
        using var xml = await IntakeFixture.SendAsync(fx.Host, HttpMethod.Post, "/api/notifications/ehr1", valid, mediaType: "application/fhir+xml");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, xml.StatusCode);
        using var json = await IntakeFixture.SendAsync(fx.Host, HttpMethod.Post, "/api/notifications/ehr1", valid, mediaType: "application/json; charset=UTF-8");
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);

        // 6 MB streamed without Content-Length: the limit (5 MB by default) is enforced while reading.
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/notifications/ehr1", UriKind.Relative))
        {
            Content = new StreamContent(new ChunkedStream(6 * 1024 * 1024)),
        };
        request.Content.Headers.ContentType = new("application/fhir+json");
        request.Headers.Authorization = new("Bearer", IntakeFixture.Secret);
        request.Headers.TransferEncodingChunked = true;
        using var large = await fx.Host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);
        Assert.Contains("OperationOutcome", await large.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var health = await fx.Host.Client.GetAsync(new Uri("/api/health", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Subscriptions_route_requires_the_admin_key_and_a_known_source()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await fx.Host.Client.GetAsync(new Uri("/api/subscriptions/ehr1", UriKind.Relative))).StatusCode);
        using var unknown = StandaloneHost.AdminRequest(HttpMethod.Get, "/api/subscriptions/nobody");
        Assert.Equal(HttpStatusCode.NotFound, (await fx.Host.Client.SendAsync(unknown)).StatusCode);
    }

    [Fact]
    public async Task Logs_hold_no_names_identifiers_or_telecom_values_from_the_fixtures()
    {
        var sub = Notifications.NewSubscription();
        await fx.PostNotificationAsync(Notifications.Build("notification-full-resource.json", sub, 1, 1));
        await fx.PostNotificationAsync("{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Quennell-Marsh\"}],\"birthDate\":\"not-a-date\"}");
        await fx.WaitForEventsAsync("ehr1", r => Events(r, sub) == 1, "event processed");
        await Task.Delay(500);

        var output = string.Join('\n', fx.Host.Output);
        Assert.Contains(sub, output, StringComparison.Ordinal);
        foreach (var phi in new[] { "Rosalind", "Quennell", "MRN-93817265", "555-0199-4821", "rosalind.qm@example.net", "1961-03-14" })
        {
            Assert.DoesNotContain(phi, output, StringComparison.OrdinalIgnoreCase);
        }
    }

    private sealed class ChunkedStream(long length) : Stream
    {
        private long position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - position);
            buffer.AsSpan(offset, n).Fill((byte)' ');
            position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
