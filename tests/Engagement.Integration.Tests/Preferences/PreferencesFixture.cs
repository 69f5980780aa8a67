using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Engagement.Integration.Tests.FollowUp;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Integration.Tests.Links;
using Engagement.Outreach;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Preferences;

/// <summary>
/// One standalone host (Azurite, the real durable engine) for the preferences tests: an EHR source to deliver
/// Patients and discharges, the link diagnostics routes, a protocol day of <see cref="SecondsPerDay"/> seconds (the
/// day-2 check-in goes out 20 s after a discharge and its first reminder 10 s later: time enough to change a
/// preference between them), and an outbox that is never dispatched so the tests read what would have gone out.
/// </summary>
public sealed class PreferencesFixture : IAsyncLifetime
{
    public const string EhrSecret = "preferences-ehr-secret";
    public const int SecondsPerDay = 10;
    public const string Zone = "America/Chicago";

    public StandaloneHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var settings = LinkApi.Settings("k1", ("k1", LinkApi.SecretOne));
        settings["Engagement__Sources__ehr1__InboundSecret"] = EhrSecret;
        settings["Engagement__SecondsPerDay"] = SecondsPerDay.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Engagement__FollowUp__ContactWindowStart"] = "00:00";
        settings["Engagement__FollowUp__ContactWindowEnd"] = "23:59";
        Host = new StandaloneHost(settings);
        await Host.StartAsync();
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();

    public static string NewId(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>A patient with a mobile number and an email, in <see cref="Zone"/>, speaking <paramref name="language"/>.</summary>
    public static Patient NewPatient(string language = "en", bool email = true)
    {
        var patient = FollowUpHarness.Patient(NewId("pat"), language, "+1555" + Random.Shared.Next(1000000, 9999999).ToString(System.Globalization.CultureInfo.InvariantCulture));
        patient.Telecom[0].Rank = 1;
        if (email)
        {
            patient.Telecom.Add(new ContactPoint(ContactPoint.ContactPointSystem.Email, ContactPoint.ContactPointUse.Home, patient.Id + "@example.test") { Rank = 2 });
        }

        patient.Extension.Add(new Extension("http://hl7.org/fhir/StructureDefinition/tz-code", new Code(Zone)));
        return patient;
    }

    /// <summary>Delivers the Patient from the EHR (classic rest-hook) and waits until intake has stored it.</summary>
    public async Task StorePatientAsync(Patient patient)
    {
        await PutFromEhrAsync(patient);
        await PatientStore.WaitUntilStoredAsync(patient.Id!);
    }

    public Task PutFromEhrAsync(Resource resource) => EhrSide.PutAsync(Host, "ehr1", EhrSecret, resource);

    public async Task<(HttpStatusCode Status, JsonElement Body)> GetPreferencesAsync(string token) => await SendAsync(HttpMethod.Get, $"/api/engage/{token}/preferences");

    public async Task<(HttpStatusCode Status, JsonElement Body)> PutPreferencesAsync(string token, string json, string contentType = "application/json") =>
        await SendAsync(HttpMethod.Put, $"/api/engage/{token}/preferences", new StringContent(json, Encoding.UTF8, contentType));

    public async Task<(HttpStatusCode Status, JsonElement Body)> OverviewAsync(string token, string lang) => await SendAsync(HttpMethod.Get, $"/api/engage/{token}/overview?lang={lang}");

    private async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string path, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative)) { Content = content };
        using var response = await Host.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonSerializer.Deserialize<JsonElement>(text));
    }

    /// <summary>The Patient as the engine stores it (what the follow-up engine reads at every send).</summary>
    public static async Task<Patient> StoredPatientAsync(string patientId)
    {
        var table = new TableClient(TestEnvironment.StorageConnectionString, "FhirResources");
        var row = await table.GetEntityAsync<TableEntity>("Patient", patientId);
        var json = row.Value.GetString("Json") ?? throw new InvalidOperationException("The Patient is stored as a blob");
        return new FhirJsonDeserializer().Deserialize<Patient>(json)!;
    }

    public async Task<JsonElement> FollowUpsAsync(string patientId)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/followups?patient={patientId}");
        using var response = await Host.Client.SendAsync(request);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public async Task CancelAsync(string instanceId)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Post, $"/api/followups/{instanceId}/cancel");
        using var response = await Host.Client.SendAsync(request);
    }

    /// <summary>Everything this host put in its outbox for the patient, whatever the dispatcher did with it.</summary>
    public Task<List<OutreachMessage>> OutboxAsync(string patientId) => EhrSide.OutboxAsync(Host, patientId);

    /// <summary>A PHQ-9 response body with the given answer index (0-3) per item.</summary>
    public static string Phq9(params int[] answers)
    {
        string[] codes = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"];
        var items = string.Join(",", answers.Select((a, i) =>
            $$$"""{"linkId":"phq9-{{{i + 1}}}","answer":[{"valueCoding":{"system":"http://loinc.org","code":"{{{codes[a]}}}"}}]}"""));
        return $$"""{"resourceType":"QuestionnaireResponse","questionnaire":"{{LinkApi.Questionnaire}}","status":"completed","item":[{{items}}]}""";
    }
}

[CollectionDefinition(Name)]
public sealed class PreferencesCollection : ICollectionFixture<PreferencesFixture>
{
    public const string Name = "preferences host";
}
