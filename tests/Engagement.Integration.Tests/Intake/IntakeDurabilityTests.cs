using System.Net;
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
        // The queue message was cleared: the sweeper found the inbox row.
        await Poll.UntilAsync(() => Task.FromResult(host.Output.Any(line => line.Contains("Sweeper processed 1 inbox rows", StringComparison.Ordinal))), found => found, TimeSpan.FromSeconds(10), "the sweeper's log line");
    }

    [Fact]
    public async Task Storage_failure_answers_503_with_an_OperationOutcome_never_2xx()
    {
        var settings = IntakeFixture.Settings(IntakeFixture.NewPrefix(), new Uri("http://127.0.0.1:9/fhir"));
        var closed = TestEnvironment.FreeTcpPort();
        settings["AzureWebJobsStorage"] = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:{closed}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{closed}/devstoreaccount1;TableEndpoint=http://127.0.0.1:{closed}/devstoreaccount1;";
        await using var host = new StandaloneHost(settings);
        await host.StartAsync(requireHealthy: false);

        using var response = await IntakeFixture.SendAsync(host, HttpMethod.Post, "/api/notifications/ehr1", Notifications.Build("notification-full-resource.json", Notifications.NewSubscription(), 1, 1));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("OperationOutcome", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
