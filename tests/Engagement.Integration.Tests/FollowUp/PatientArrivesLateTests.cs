using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Engagement.Http;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Integration.Tests.Intake;
using Hl7.Fhir.Model;
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
        var settings = EhrSide.FollowUpHostSettings(Secret);
        if (fhirBase is not null)
        {
            settings["Engagement__Sources__ehr1__FhirBaseUrl"] = fhirBase.ToString();
        }

        settings["Engagement__FollowUp__PatientWaitInterval"] = "00:00:02";
        settings["Engagement__FollowUp__PatientWaitAttempts"] = "60";
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

    /// <summary>
    /// A backport full-resource notification: the Encounter as the focus, the Patient inline as additional context —
    /// how a topic-based EHR sends a discharge without sending the Patient as an event of its own.
    /// </summary>
    private static string DischargeWithPatientInContext(string subscription, long number, Encounter encounter, Patient patient)
    {
        const string Base = "https://ehr.example.org/fhir/";
        var n = number.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var status = new Parameters();
        status.Add("subscription", new ResourceReference(Base + "Subscription/" + subscription));
        status.Add("topic", new Canonical("http://hl7.org/SubscriptionTopic/encounter-complete"));
        status.Add("status", new Code("active"));
        status.Add("type", new Code("event-notification"));
        status.Add("events-since-subscription-start", new FhirString(n));
        status.Parameter.Add(new Parameters.ParameterComponent
        {
            Name = "notification-event",
            Part =
            [
                new() { Name = "event-number", Value = new FhirString(n) },
                new() { Name = "focus", Value = new ResourceReference(Base + "Encounter/" + encounter.Id) },
                new() { Name = "additional-context", Value = new ResourceReference(Base + "Patient/" + patient.Id) },
            ],
        });
        var bundle = new Bundle
        {
            Type = Bundle.BundleType.History,
            Timestamp = DateTimeOffset.UtcNow,
            Entry =
            [
                new() { FullUrl = "urn:uuid:" + Guid.NewGuid(), Resource = status, Request = new() { Method = Bundle.HTTPVerb.GET, Url = $"Subscription/{subscription}/$status" }, Response = new() { Status = "200" } },
                new() { FullUrl = Base + "Encounter/" + encounter.Id, Resource = encounter, Request = new() { Method = Bundle.HTTPVerb.PUT, Url = "Encounter/" + encounter.Id }, Response = new() { Status = "200" } },
                new() { FullUrl = Base + "Patient/" + patient.Id, Resource = patient, Request = new() { Method = Bundle.HTTPVerb.PUT, Url = "Patient/" + patient.Id }, Response = new() { Status = "200" } },
            ],
        };
        return FhirJson.Serialize(bundle);
    }

    private static async Task NotifyAsync(StandaloneHost host, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/notifications/ehr1", UriKind.Relative))
        {
            Content = new StringContent(body, System.Text.Encoding.UTF8, "application/fhir+json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Secret);
        using var response = await host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_Patient_sent_inline_as_the_discharges_additional_context_is_kept_and_reached_but_does_not_replace_one_we_hold()
    {
        await using var host = NewHost(); // no FHIR base URL: nothing to read the Patient from
        await host.StartAsync();
        var subscription = FollowUpHarness.NewId("sub");

        // Only the notification carries the Patient.
        var patientId = FollowUpHarness.NewId("pat");
        await NotifyAsync(host, DischargeWithPatientInContext(subscription, 1,
            FollowUpHarness.InpatientDischarge(FollowUpHarness.NewId("enc"), patientId, DateTimeOffset.UtcNow), FollowUpHarness.Patient(patientId, "es", "+15555550179")));
        var run = await Poll.UntilAsync(() => RunAsync(host, patientId), r => History(r, "sent").Any(), TimeSpan.FromSeconds(90), "the check-in to be sent to the Patient from the notification");
        Assert.Equal("sms/es", History(run, "sent").First().GetProperty("detail").GetString());
        Assert.Empty(History(run, "patient-unknown"));
        await PatientStore.WaitUntilStoredAsync(patientId);
        await CancelAsync(host, run);

        // A Patient we already hold (sent as its own event) is not replaced by the copy in a later notification's context.
        var known = FollowUpHarness.NewId("pat");
        await EhrSide.PutAsync(host, "ehr1", Secret, FollowUpHarness.Patient(known, "es", "+15555550180"));
        await PatientStore.WaitUntilStoredAsync(known);
        await NotifyAsync(host, DischargeWithPatientInContext(subscription, 2,
            FollowUpHarness.InpatientDischarge(FollowUpHarness.NewId("enc"), known, DateTimeOffset.UtcNow), FollowUpHarness.Patient(known, "en", "+15555550180")));
        var second = await Poll.UntilAsync(() => RunAsync(host, known), r => History(r, "sent").Any(), TimeSpan.FromSeconds(90), "the check-in to the known patient");
        Assert.Equal("sms/es", History(second, "sent").First().GetProperty("detail").GetString());
        await CancelAsync(host, second);
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
