using System.Net;
using Azure;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Engagement.Integration.Tests.Infrastructure;

namespace Engagement.Integration.Tests.Intake;

/// <summary>Acknowledge only what is stored: crashes after acknowledging, and storage failures.</summary>
public sealed class IntakeDurabilityTests
{
    [Fact]
    public async Task Notification_acknowledged_before_a_crash_is_processed_after_restart_even_without_its_queue_message()
    {
        await using var fhir = new FakeFhirServer();
        var prefix = IntakeFixture.NewPrefix();
        var settings = IntakeFixture.Settings(prefix, fhir.BaseUrl);
        settings["Engagement__Intake__Processing"] = "false";
        settings["Engagement__Intake__BackstopInterval"] = "01:00:00"; // the start's scan, not the backstop, finds it
        await using var host = new StandaloneHost(settings);
        await host.StartAsync();

        var sub = Notifications.NewSubscription();
        using var response = await IntakeFixture.SendAsync(host, HttpMethod.Post, "/api/notifications/ehr1", Notifications.Build("notification-full-resource.json", sub, 1, 1));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await host.KillAsync();

        // The latency path is gone too: only the inbox row remains.
        var queue = new QueueServiceClient(TestEnvironment.StorageConnectionString).GetQueueClient(prefix.ToLowerInvariant());
        await queue.CreateIfNotExistsAsync();
        await queue.ClearMessagesAsync();
        var events = IntakeFixture.Table(prefix, "Events");
        Assert.Empty(await events.QueryAsync<TableEntity>().ToListAsync());

        host.Settings["Engagement__Intake__Processing"] = "true";
        await host.StartAsync();
        List<TableEntity> rows;
        try
        {
            rows = await Poll.UntilAsync(() => events.QueryAsync<TableEntity>().ToListAsync().AsTask(), r => r.Count == 1 && r[0].GetBoolean("Routed") == true, TimeSpan.FromSeconds(60), "processed after restart");
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(ex.Message + "\n" + string.Join('\n', host.Output.TakeLast(30)), ex);
        }

        Assert.Equal("enc-1001", rows[0].GetString("ResourceId"));
        // The queue message was cleared: the scan at start found the inbox row, and the sweeper processed it.
        Assert.Contains(host.Output, line => line.Contains("Intake start scan found 1 acknowledged inbox rows", StringComparison.Ordinal));
        await Poll.UntilAsync(() => Task.FromResult(host.Output.Any(line => line.Contains("Sweeper processed 1 inbox rows", StringComparison.Ordinal))), found => found, TimeSpan.FromSeconds(10), "the sweeper's log line");
    }

    [Fact]
    public async Task A_row_rerun_after_a_crash_between_routing_and_marking_it_processed_does_not_store_an_older_Patient_again()
    {
        const string Secret = "rerun-inbound-secret";
        var settings = EhrSide.FollowUpHostSettings(Secret);
        settings["Engagement__Intake__SweepInterval"] = "00:00:01";
        settings["Engagement__Intake__RedriveAfter"] = "00:00:02";
        settings["Engagement__Intake__BackstopInterval"] = "00:00:02"; // the row set back to pending is in no hand-off or retry: only the backstop finds it
        await using var host = new StandaloneHost(settings);
        await host.StartAsync();
        var inbox = IntakeFixture.Table(host.Settings["Engagement__Intake__StoragePrefix"]!, "Inbox");
        var resources = new TableClient(TestEnvironment.StorageConnectionString, "FhirResources");
        var patientId = FollowUp.FollowUpHarness.NewId("pat");

        async Task<List<TableEntity>> RowsAsync() =>
            [.. (await inbox.QueryAsync<TableEntity>(e => e.PartitionKey == "ehr1").ToListAsync())
                .Where(r => r.GetString("ResourceId") == patientId)
                .OrderBy(r => r.GetDateTimeOffset("ReceivedAt"))];

        async Task<List<TableEntity>> ProcessedAsync(int count) =>
            await Poll.UntilAsync(RowsAsync, r => r.Count == count && r.All(e => e.GetString("Status") == "Processed"), TimeSpan.FromSeconds(60), $"{count} Patient rows processed");

        // The EHR sends the Patient, then a newer version of it; both are processed in turn.
        var v1 = FollowUp.FollowUpHarness.Patient(patientId, "en");
        v1.Meta = new Hl7.Fhir.Model.Meta { VersionId = "1" };
        await EhrSide.PutAsync(host, "ehr1", Secret, v1);
        await ProcessedAsync(1);
        var v2 = FollowUp.FollowUpHarness.Patient(patientId, "es");
        v2.Meta = new Hl7.Fhir.Model.Meta { VersionId = "2" };
        await EhrSide.PutAsync(host, "ehr1", Secret, v2);
        var rows = await ProcessedAsync(2);
        // A processed row keeps no copy of the EHR's payload.
        Assert.All(rows, r => Assert.Empty(r.GetBinary("Body") ?? [0]));
        var before = (await resources.GetEntityAsync<TableEntity>("Patient", patientId)).Value;
        Assert.Equal(2, before.GetInt32("Version"));
        Assert.Contains("\"es\"", before.GetString("Json"), StringComparison.Ordinal);

        // A crash after the first row's event was routed and journaled, before the row was marked processed: the row
        // is pending again with its body (the mark that drops it never ran), and the sweeper (no queue message, no
        // hand-off) runs it a second time.
        var first = rows[0];
        await inbox.UpdateEntityAsync(
            new TableEntity(first.PartitionKey, first.RowKey) { ["Status"] = "Pending", ["Body"] = System.Text.Encoding.UTF8.GetBytes(Engagement.Http.FhirJson.Serialize(v1)) },
            ETag.All, TableUpdateMode.Merge);
        await Poll.UntilAsync(
            async () => (await inbox.GetEntityAsync<TableEntity>(first.PartitionKey, first.RowKey)).Value.GetString("Status"),
            status => status == "Processed", TimeSpan.FromSeconds(60), "the sweeper to run the row again");
        Assert.Contains(host.Output, line => line.Contains("Intake backstop scan found 1 acknowledged inbox rows", StringComparison.Ordinal));

        // The rerun found its event routed and skipped it: the newer Patient stands, not rewritten.
        var after = (await resources.GetEntityAsync<TableEntity>("Patient", patientId)).Value;
        Assert.Equal(2, after.GetInt32("Version"));
        Assert.Contains("\"es\"", after.GetString("Json"), StringComparison.Ordinal);
        Assert.DoesNotContain("\"en\"", after.GetString("Json"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Storage_failure_answers_503_with_an_OperationOutcome_never_2xx()
    {
        var settings = IntakeFixture.Settings(IntakeFixture.NewPrefix(), new Uri("http://127.0.0.1:9/fhir"));
        settings["AzureWebJobsStorage"] = TestEnvironment.RefusingStorageConnectionString();
        await using var host = new StandaloneHost(settings);
        await host.StartAsync(requireHealthy: false);

        using var response = await IntakeFixture.SendAsync(host, HttpMethod.Post, "/api/notifications/ehr1", Notifications.Build("notification-full-resource.json", Notifications.NewSubscription(), 1, 1));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("OperationOutcome", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
