using System.Net;
using Azure.Data.Tables;
using Engagement.Integration.Tests.Infrastructure;

namespace Engagement.Integration.Tests.Intake;

/// <summary>
/// A row whose processing failed is held by the process and tried again <c>RedriveAfter</c> later (here 2 s), then after
/// doubling waits, by the sweeper: no scan of the whole inbox is needed for it (the backstop is set to an hour here).
/// Before, the sweeper read the whole inbox every 10 s to find such rows, and that read held up the EHR's
/// acknowledgements (docs/reliability.md).
/// </summary>
public sealed class IntakeRetryTests
{
    [Fact]
    public async Task A_row_whose_processing_failed_is_tried_again_until_it_succeeds_without_a_scan_of_the_inbox()
    {
        await using var fhir = new FakeFhirServer { Down = true };
        var prefix = IntakeFixture.NewPrefix();
        var settings = IntakeFixture.Settings(prefix, fhir.BaseUrl); // sweeps every second, first retry 2 s after a failure
        settings["Engagement__Intake__BackstopInterval"] = "01:00:00";
        settings["Engagement__Intake__ProcessingTimeout"] = "00:00:03"; // a try ends before the resilience handler's retries do
        await using var host = new StandaloneHost(settings);
        await host.StartAsync();

        // An id-only event: processing reads the Encounter from the EHR, whose server answers 500 for now.
        var sub = Notifications.NewSubscription();
        var body = Notifications.Fixture("notification-id-only.json").Replace("sub-encounters", sub, StringComparison.Ordinal);
        using var response = await IntakeFixture.SendAsync(host, HttpMethod.Post, "/api/notifications/ehr1", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // The first processing fails, and so does the sweeper's first retry.
        await Poll.UntilAsync(
            () => Task.FromResult(host.Output.Count(l => l.Contains("Sweeper could not process 1 inbox rows held for a retry", StringComparison.Ordinal))),
            n => n >= 1, TimeSpan.FromSeconds(60), "a failed retry");
        Assert.Contains(host.Output, l => l.Contains("failed (", StringComparison.Ordinal) && l.Contains("the sweeper tries it again", StringComparison.Ordinal));

        fhir.Down = false;
        var events = IntakeFixture.Table(prefix, "Events");
        var rows = await Poll.UntilAsync(() => events.QueryAsync<TableEntity>().ToListAsync().AsTask(), r => r.Count == 1 && r[0].GetBoolean("Routed") == true,
            TimeSpan.FromSeconds(60), "processed once the EHR answers");
        Assert.Equal("enc-2002", rows[0].GetString("ResourceId"));
        await Poll.UntilAsync(() => Task.FromResult(host.Output.Any(l => l.Contains("Sweeper processed 1 inbox rows held for a retry", StringComparison.Ordinal))),
            found => found, TimeSpan.FromSeconds(10), "the sweeper's log line");

        // Found without the backstop: the only scan was the one at start, which found nothing.
        Assert.Contains(host.Output, l => l.Contains("Intake start scan found 0 acknowledged inbox rows", StringComparison.Ordinal));
        Assert.DoesNotContain(host.Output, l => l.Contains("backstop scan", StringComparison.Ordinal));
        var inbox = await IntakeFixture.Table(prefix, "Inbox").QueryAsync<TableEntity>().ToListAsync();
        Assert.Equal("Processed", Assert.Single(inbox).GetString("Status")); // marked before the line above is logged
    }
}
