using System.Net;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Engagement.Integration.Tests.Infrastructure;

namespace Engagement.Integration.Tests.Intake;

/// <summary>
/// Retention through the host (here 10 s, swept every second): a processed delivery's inbox row and journal rows go once
/// they are older than that, with the blobs holding a large body and a large resource; a delivery still pending stays,
/// however old. A delivery repeated after its row is gone is accepted as a new one (the README says so: retention must
/// outlast the EHR's redeliveries).
/// </summary>
public sealed class IntakeRetentionTests
{
    [Fact]
    public async Task Processed_deliveries_past_retention_are_deleted_with_their_blobs_and_a_pending_one_stays()
    {
        await using var fhir = new FakeFhirServer { Down = true };
        var prefix = IntakeFixture.NewPrefix();
        var settings = IntakeFixture.Settings(prefix, fhir.BaseUrl);
        settings["Engagement__Intake__Retention"] = "00:00:10";
        settings["Engagement__Intake__RetentionInterval"] = "00:00:01";
        settings["Engagement__Intake__ProcessingTimeout"] = "00:00:03";
        await using var host = new StandaloneHost(settings);
        await host.StartAsync();
        var inbox = IntakeFixture.Table(prefix, "Inbox");
        var events = IntakeFixture.Table(prefix, "Events");
        var blobs = new BlobServiceClient(TestEnvironment.StorageConnectionString).GetBlobContainerClient(prefix.ToLowerInvariant() + "-inbox");

        // Acknowledged first, never processed: the EHR's server answers 500 for the Encounter it names.
        var pendingBody = Notifications.Fixture("notification-id-only.json").Replace("sub-encounters", Notifications.NewSubscription(), StringComparison.Ordinal);
        using (var response = await IntakeFixture.SendAsync(host, HttpMethod.Post, "/api/notifications/ehr1", pendingBody))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Processed at once (the resources are in the notification). The Encounter's narrative makes the body and the
        // journaled resource larger than a row holds: both go to blobs.
        var large = Large(Notifications.Build("notification-full-resource.json", Notifications.NewSubscription()));
        using (var response = await IntakeFixture.SendAsync(host, HttpMethod.Post, "/api/notifications/ehr1", large))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var stored = await Poll.UntilAsync(
            async () => (Inbox: await inbox.QueryAsync<TableEntity>().ToListAsync(), Events: await events.QueryAsync<TableEntity>().ToListAsync(), Blobs: await blobs.GetBlobsAsync().Select(b => b.Name).ToListAsync()),
            s => s.Inbox.Count(r => r.GetString("Status") == "Processed") == 1 && s.Events.Count >= 1,
            TimeSpan.FromSeconds(30), "the large delivery processed");
        var pendingKey = Assert.Single(stored.Inbox, r => r.GetString("Status") == "Pending").RowKey;
        var processed = Assert.Single(stored.Inbox, r => r.GetString("Status") == "Processed");
        Assert.Contains(processed.GetString("BodyBlob"), stored.Blobs);
        Assert.Contains(stored.Events, e => e.GetString("ResourceBlob") is { } b && stored.Blobs.Contains(b));

        // Ten seconds on, the processed delivery is gone from the inbox, the journal and the blobs.
        var after = await Poll.UntilAsync(
            async () => (Inbox: await inbox.QueryAsync<TableEntity>().ToListAsync(), Events: await events.QueryAsync<TableEntity>().ToListAsync(), Blobs: await blobs.GetBlobsAsync().Select(b => b.Name).ToListAsync()),
            s => s.Events.Count == 0 && s.Inbox.All(r => r.GetString("Status") != "Processed") && s.Blobs.Count == 0,
            TimeSpan.FromSeconds(60), "the processed delivery deleted");
        Assert.Contains(host.Output, l => l.Contains("Intake retention deleted 1 processed inbox rows", StringComparison.Ordinal));

        // The pending one, acknowledged before it, stays.
        Assert.Equal(pendingKey, Assert.Single(after.Inbox).RowKey);
        Assert.Equal("Pending", after.Inbox[0].GetString("Status"));

        // Repeated now, the large delivery is new again: a row, and processed.
        using (var response = await IntakeFixture.SendAsync(host, HttpMethod.Post, "/api/notifications/ehr1", large))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await Poll.UntilAsync(() => inbox.QueryAsync<TableEntity>().ToListAsync().AsTask(), r => r.Count(x => x.RowKey == processed.RowKey && x.GetString("Status") == "Processed") == 1,
            TimeSpan.FromSeconds(30), "the repeat stored and processed as a new delivery");
    }

    /// <summary>The notification with a narrative on its Encounter that makes the body over 60 KB.</summary>
    private static string Large(string notification)
    {
        var root = JsonNode.Parse(notification)!;
        var encounter = ((JsonArray)root["entry"]!).Select(e => e!["resource"]!).First(r => (string?)r["resourceType"] == "Encounter");
        encounter["text"] = new JsonObject
        {
            ["status"] = "generated",
            ["div"] = "<div xmlns=\"http://www.w3.org/1999/xhtml\">" + new string('x', 70 * 1024) + "</div>",
        };
        return root.ToJsonString();
    }
}
