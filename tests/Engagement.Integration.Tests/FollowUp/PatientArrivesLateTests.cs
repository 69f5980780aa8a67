using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Engagement.Http;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Integration.Tests.Intake;
using Engagement.Integration.Tests.Links;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.FollowUp;

/// <summary>
/// The Encounter that starts a run can be processed before the patient's own Patient resource (intake is concurrent,
/// and some EHRs never send Patients). The send step then waits for the Patient, or reads it from the source's FHIR
/// server when one is configured, instead of going on without contact details.
/// </summary>
public sealed class PatientArrivesLateTests
{
    private const string Secret = "late-patient-inbound-secret";

    private static StandaloneHost NewHost(Uri? fhirBase = null)
    {
        var settings = LinkApi.Settings("k1", ("k1", LinkApi.SecretOne));
        settings["Engagement__Sources__ehr1__InboundSecret"] = Secret;
        if (fhirBase is not null)
        {
            settings["Engagement__Sources__ehr1__FhirBaseUrl"] = fhirBase.ToString();
        }

        settings["Engagement__SecondsPerDay"] = "2";
        settings["Engagement__FollowUp__ContactWindowStart"] = "00:00";
        settings["Engagement__FollowUp__ContactWindowEnd"] = "23:59";
        settings["Engagement__FollowUp__PatientWaitInterval"] = "00:00:02";
        settings["Engagement__FollowUp__PatientWaitAttempts"] = "60";
        settings["Engagement__Outbox__DispatchInterval"] = "1.00:00:00";
        return new StandaloneHost(settings);
    }

    private static async Task<JsonElement> RunAsync(StandaloneHost host, string patientId)
    {
        using var list = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/followups?patient={patientId}");
        using var listed = await host.Client.SendAsync(list);
        var runs = (await listed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("followUps");
        if (runs.GetArrayLength() == 0)
        {
            return default;
        }

        using var request = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/followups/{runs[0].GetProperty("instanceId").GetString()}");
        using var response = await host.Client.SendAsync(request);
        return response.StatusCode == HttpStatusCode.OK ? await response.Content.ReadFromJsonAsync<JsonElement>() : default;
    }

    private static IEnumerable<JsonElement> History(JsonElement run, string kind) =>
        run.ValueKind == JsonValueKind.Object
            ? run.GetProperty("history").EnumerateArray().Where(h => h.GetProperty("kind").GetString() == kind)
            : [];

    private static async Task CancelAsync(StandaloneHost host, JsonElement run)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Post, $"/api/followups/{run.GetProperty("instanceId").GetString()}/cancel");
        using var response = await host.Client.SendAsync(request);
    }

    [Fact]
    public async Task A_discharge_processed_before_its_Patient_waits_for_the_Patient_and_then_reaches_them_in_their_language()
    {
        await using var host = NewHost();
        await host.StartAsync();
        var patientId = FollowUpHarness.NewId("pat");
        await EhrSide.PutAsync(host, "ehr1", Secret, FollowUpHarness.InpatientDischarge(FollowUpHarness.NewId("enc"), patientId, DateTimeOffset.UtcNow));

        // The day-2 check-in is due; there is no Patient yet, so nothing can be sent.
        await Poll.UntilAsync(() => RunAsync(host, patientId), r => History(r, "patient-unknown").Any(), TimeSpan.FromSeconds(90), "the send step to find no Patient");
        Assert.Empty(History(await RunAsync(host, patientId), "sent"));
        Assert.Empty(History(await RunAsync(host, patientId), "no-channel"));

        await EhrSide.PutAsync(host, "ehr1", Secret, FollowUpHarness.Patient(patientId, "es", "+15555550177"));

        var run = await Poll.UntilAsync(() => RunAsync(host, patientId), r => History(r, "sent").Any(), TimeSpan.FromSeconds(90), "the check-in to be sent once the Patient is known");
        var sent = History(run, "sent").First();
        Assert.StartsWith("checkin", sent.GetProperty("occurrence").GetString(), StringComparison.Ordinal);
        Assert.Equal("sms/es", sent.GetProperty("detail").GetString());
        Assert.Empty(History(run, "no-channel"));
        await CancelAsync(host, run);
    }

    [Fact]
    public async Task A_patient_the_EHR_never_sends_is_read_from_its_FHIR_server_and_kept()
    {
        await using var fhir = new FakeFhirServer();
        await using var host = NewHost(fhir.BaseUrl);
        await host.StartAsync();
        var patientId = FollowUpHarness.NewId("pat");
        fhir.Resources["Patient/" + patientId] = FhirJson.Serialize(FollowUpHarness.Patient(patientId, "es", "+15555550178"));

        await EhrSide.PutAsync(host, "ehr1", Secret, FollowUpHarness.InpatientDischarge(FollowUpHarness.NewId("enc"), patientId, DateTimeOffset.UtcNow));

        var run = await Poll.UntilAsync(() => RunAsync(host, patientId), r => History(r, "sent").Any(), TimeSpan.FromSeconds(90), "the check-in to be sent");
        Assert.Equal("sms/es", History(run, "sent").First().GetProperty("detail").GetString());
        Assert.Single(fhir.Requests, r => r == "/fhir/Patient/" + patientId); // read once (planning), then kept
        await PatientStore.WaitUntilStoredAsync(patientId); // kept: the next step reads it from storage, not the EHR
        await CancelAsync(host, run);
    }
}
