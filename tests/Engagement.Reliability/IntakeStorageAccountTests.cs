using System.Net;
using Azure.Data.Tables;
using Engagement.Integration.Tests.Infrastructure;

namespace Engagement.Reliability;

/// <summary>
/// Intake on a storage account of its own (<c>Engagement__Intake__StorageConnectionName</c>): the test's own Azurite
/// holds the inbox, the event journal and the subscription state; the app's rows stay on the shared test Azurite. The
/// acknowledged notification is stored in the intake account only and starts its follow-up; with the intake account
/// down, intake answers 503 (never 2xx) and health names it; once it is back, the EHR's retry is accepted and processed.
/// </summary>
public sealed class IntakeStorageAccountTests
{
    [Fact]
    public async Task Intake_on_its_own_account_stores_there_answers_503_while_that_account_is_down_and_recovers()
    {
        await using var intakeAzurite = new PrivateAzurite();
        var intakeConnection = await intakeAzurite.StartAsync();
        await using var h = new ReliabilityHarness(secondsPerDay: 86400, configure: s =>
        {
            s["Engagement__Intake__StorageConnectionName"] = "IntakeStorage";
            s["IntakeStorage"] = intakeConnection;
        });
        await h.Host.StartAsync();
        var run = ReliabilityHarness.NewRun();
        var subscription = "sub-intake-account-" + run;
        var first = ReliabilityHarness.PatientId(run, 1);
        var second = ReliabilityHarness.PatientId(run, 2);
        string Body(int n, string patient) => ReliabilityHarness.Notification(subscription, n, patient, $"enc-{run}-{n}");

        Assert.Equal(HttpStatusCode.OK, await h.PostAsync(Body(1, first)));
        await Poll.UntilAsync(() => h.FollowUpsAsync(first), runs => runs.Count == 1, TimeSpan.FromMinutes(2), "the follow-up of the first discharge");

        // Stored in the intake account, processed there (the row is marked once routing is done, which can be just after
        // the run starts); none of intake's tables on the app's account.
        var inbox = await Poll.UntilAsync(() => new TableClient(intakeConnection, h.Prefix + "Inbox").QueryAsync<TableEntity>().ToListAsync().AsTask(), rows => rows.Count == 1 && rows[0].GetString("Status") == "Processed", TimeSpan.FromSeconds(30), "the inbox row in the intake account, processed");
        Assert.Equal(["Processed"], inbox.Select(r => r.GetString("Status")));
        Assert.NotEmpty(await new TableClient(intakeConnection, h.Prefix + "Events").QueryAsync<TableEntity>().ToListAsync());
        Assert.NotEmpty(await new TableClient(intakeConnection, h.Prefix + "Subscriptions").QueryAsync<TableEntity>().ToListAsync());
        var appTables = new List<string>();
        await foreach (var table in new TableServiceClient(h.Storage).QueryAsync(t => t.Name.CompareTo(h.Prefix) >= 0 && t.Name.CompareTo(h.Prefix + "~") < 0))
        {
            appTables.Add(table.Name);
        }

        Assert.DoesNotContain(h.Prefix + "Inbox", appTables);
        Assert.DoesNotContain(h.Prefix + "Events", appTables);
        Assert.DoesNotContain(h.Prefix + "Subscriptions", appTables);
        var (status, body) = await HealthAsync();
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("intake storage: reachable", body, StringComparison.Ordinal);

        // The intake account goes away; the app's account is still there. Nothing may be acknowledged.
        await intakeAzurite.StopAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await h.PostAsync(Body(2, second)));
        (status, body) = await HealthAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("intake storage: not reachable", body, StringComparison.Ordinal);
        Assert.Contains("\"storage: reachable", body, StringComparison.Ordinal);

        // Back again: the EHR's retry of the refused notification is accepted and processed, once.
        await intakeAzurite.StartAsync();
        await Poll.UntilAsync(() => h.PostAsync(Body(2, second)), s => s == HttpStatusCode.OK, TimeSpan.FromMinutes(2), "the retry accepted");
        await Poll.UntilAsync(() => h.FollowUpsAsync(second), runs => runs.Count == 1, TimeSpan.FromMinutes(2), "the follow-up of the retried discharge");
        Assert.Single(await h.FollowUpsAsync(first));
        Assert.Equal(HttpStatusCode.OK, (await HealthAsync()).Status);

        async Task<(HttpStatusCode Status, string Body)> HealthAsync()
        {
            using var response = await h.Host.Client.GetAsync(new Uri("/api/health", UriKind.Relative));
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
    }
}
