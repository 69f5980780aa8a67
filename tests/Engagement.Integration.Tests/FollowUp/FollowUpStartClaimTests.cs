using System.Net.Http.Json;
using System.Text.Json;
using Azure.Data.Tables;
using Engagement.FollowUp;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Integration.Tests.Intake;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.FollowUp;

/// <summary>
/// A run's start is claimed (one row per instance id, so concurrent triggers start one run) before the run is
/// created. A starter that claims and then fails — the process killed, storage gone mid-start — leaves a claim with
/// no run. Such a claim must not make the EHR's event look like a duplicate: the event stays pending and is retried,
/// and once the claim is older than its lease the retry takes it over and starts the run. (The storage-outage
/// scenario lost three acknowledged notifications this way once: claim written, start failed, rerun skipped.)
/// </summary>
public sealed class FollowUpStartClaimTests
{
    private const string Secret = "start-claim-inbound-secret";
    private static readonly TableClient Claims = new(TestEnvironment.StorageConnectionString, "FollowUpClaims");

    private static StandaloneHost NewHost(string lease, string inDoubtLease = "00:00:05")
    {
        // Production protocol clock: the run starts and then waits; outreach is not the subject here.
        var settings = EhrSide.FollowUpHostSettings(Secret, secondsPerDay: 86400);
        settings["Engagement__FollowUp__StartClaimLease"] = lease;
        settings["Engagement__FollowUp__StartInDoubtLease"] = inDoubtLease;
        settings["Engagement__Intake__SweepInterval"] = "00:00:01";
        settings["Engagement__Intake__RedriveAfter"] = "00:00:02";
        return new StandaloneHost(settings);
    }

    private static async Task<List<string>> RunsAsync(StandaloneHost host, string patientId)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/followups?patient={patientId}");
        using var response = await host.Client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return [.. body.GetProperty("followUps").EnumerateArray()
            .Where(f => f.GetProperty("runtimeStatus").ValueKind == JsonValueKind.String)
            .Select(f => f.GetProperty("instanceId").GetString()!)];
    }

    private static async Task<string?> InboxStatusAsync(StandaloneHost host, string encounterId)
    {
        var inbox = IntakeFixture.Table(host.Settings["Engagement__Intake__StoragePrefix"]!, "Inbox");
        var rows = await inbox.QueryAsync<TableEntity>(e => e.PartitionKey == "ehr1").ToListAsync();
        return rows.SingleOrDefault(r => r.GetString("ResourceId") == encounterId)?.GetString("Status");
    }

    /// <summary>
    /// Claims the discharge's post-discharge run as another starter would have, <paramref name="ago"/> (and, when
    /// <paramref name="schedulingAgo"/> is given, began creating it then), then the EHR sends the discharge.
    /// </summary>
    private static async Task<(string PatientId, string EncounterId, string InstanceId)> DischargeClaimedAsync(StandaloneHost host, TimeSpan ago, TimeSpan? schedulingAgo = null)
    {
        var patientId = FollowUpHarness.NewId("pat");
        var encounterId = FollowUpHarness.NewId("enc");
        var instanceId = FollowUpInstanceId.For("post-discharge", patientId, "Encounter", encounterId);
        var now = TimeProvider.System.GetUtcNow();
        await Claims.CreateIfNotExistsAsync();
        var claim = new TableEntity("claim", instanceId) { ["ClaimedAt"] = now - ago };
        if (schedulingAgo is { } scheduling)
        {
            claim["SchedulingAt"] = now - scheduling;
        }

        await Claims.AddEntityAsync(claim);
        await EhrSide.PutAsync(host, "ehr1", Secret, FollowUpHarness.InpatientDischarge(encounterId, patientId, now));
        return (patientId, encounterId, instanceId);
    }

    /// <summary>Waits for the run to be started, once, and for the discharge's inbox row to be done.</summary>
    private static async Task StartedOnceAsync(StandaloneHost host, (string PatientId, string EncounterId, string InstanceId) discharge, TimeSpan timeout)
    {
        var runs = await Poll.UntilAsync(() => RunsAsync(host, discharge.PatientId), r => r.Contains(discharge.InstanceId), timeout, "the claimed run to be started");
        Assert.Single(runs, discharge.InstanceId);
        await Poll.UntilAsync(() => InboxStatusAsync(host, discharge.EncounterId), s => s == "Processed", TimeSpan.FromSeconds(30), "the discharge's inbox row processed");
    }

    [Fact]
    public async Task A_start_claimed_by_a_starter_that_failed_before_creating_the_run_is_made_once_the_claim_is_past_its_lease()
    {
        await using var host = NewHost(lease: "00:00:05");
        await host.StartAsync();

        // An earlier delivery of this discharge claimed the run a minute ago, then its process died before creating it.
        var discharge = await DischargeClaimedAsync(host, TimeSpan.FromMinutes(1));

        await StartedOnceAsync(host, discharge, TimeSpan.FromSeconds(60));
        Assert.Contains(host.Output, l => l.Contains($"Follow-up {discharge.InstanceId}: a start claimed longer than the lease ago never created it; this start takes it over", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_start_whose_starter_had_begun_creating_the_run_is_taken_over_only_after_the_longer_in_doubt_lease()
    {
        // Its create may have left a start message the durable engine has not processed yet; a second one would leave
        // the run unloadable. So the short lease (2 s) does not apply, the in-doubt lease (30 s) does.
        await using var host = NewHost(lease: "00:00:02", inDoubtLease: "00:00:30");
        await host.StartAsync();

        // Claimed a minute ago; the claimer began creating the run just now (and, as it turns out, never will).
        var discharge = await DischargeClaimedAsync(host, TimeSpan.FromMinutes(1), schedulingAgo: TimeSpan.Zero);

        await Poll.UntilAsync(
            () => Task.FromResult(host.Output.Count(l => l.Contains($"Follow-up {discharge.InstanceId} is claimed by another start that has not created it", StringComparison.Ordinal))),
            n => n >= 2, TimeSpan.FromSeconds(25), "the starter to find the claim held, twice");
        // The claim is a minute old, far past the short lease: still held, no run, the event still pending.
        Assert.Equal("Pending", await InboxStatusAsync(host, discharge.EncounterId));
        Assert.DoesNotContain(discharge.InstanceId, await RunsAsync(host, discharge.PatientId));

        // The in-doubt lease ends with no run created: a retry takes the claim over and starts it, once.
        await StartedOnceAsync(host, discharge, TimeSpan.FromSeconds(90));
    }

    [Fact]
    public async Task A_start_claimed_moments_ago_by_another_starter_leaves_the_event_pending_until_the_run_exists_or_the_lease_ends()
    {
        await using var host = NewHost(lease: "00:00:20");
        await host.StartAsync();

        // Another starter has just claimed this run (and, as it turns out, will never create it).
        var discharge = await DischargeClaimedAsync(host, TimeSpan.Zero);

        // Not a duplicate: no run exists, so the event is not done.
        await Poll.UntilAsync(
            () => Task.FromResult(host.Output.Any(l => l.Contains($"Follow-up {discharge.InstanceId} is claimed by another start that has not created it", StringComparison.Ordinal))),
            found => found, TimeSpan.FromSeconds(20), "the starter to find the claim held");
        Assert.Equal("Pending", await InboxStatusAsync(host, discharge.EncounterId));
        Assert.DoesNotContain(discharge.InstanceId, await RunsAsync(host, discharge.PatientId));

        // The lease ends with no run created: the sweeper's retry takes the claim over and starts it, once.
        await StartedOnceAsync(host, discharge, TimeSpan.FromSeconds(90));
    }
}
