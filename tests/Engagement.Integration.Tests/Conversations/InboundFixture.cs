using System.Net.Http.Headers;
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

namespace Engagement.Integration.Tests.Conversations;

/// <summary>
/// One standalone host for the two-way messaging tests: an EHR source that only posts to us (<c>ehr1</c>), one whose
/// FHIR server (the in-test <see cref="Intake.FakeFhirServer"/>) accepts writes and Appointment updates (<c>ehr2</c>), an
/// sms and an email gateway, a protocol day of two seconds, and an outbox that is never dispatched so the tests read
/// what would have gone out.
/// </summary>
public sealed class InboundFixture : IAsyncLifetime
{
    public const string EhrSecret = "twoway-ehr-secret";
    public const string SmsSecret = "twoway-sms-gateway-secret";
    public const string EmailSecret = "twoway-email-gateway-secret";

    public StandaloneHost Host { get; private set; } = null!;

    /// <summary><c>ehr2</c>'s FHIR server.</summary>
    public Intake.FakeFhirServer Ehr2 { get; } = new();

    public async Task InitializeAsync()
    {
        var settings = LinkApi.Settings("k1", ("k1", LinkApi.SecretOne));
        settings["Engagement__Sources__ehr1__InboundSecret"] = EhrSecret;
        settings["Engagement__Sources__ehr2__InboundSecret"] = EhrSecret;
        settings["Engagement__Sources__ehr2__FhirBaseUrl"] = Ehr2.BaseUrl.ToString();
        settings["Engagement__WriteBack__Interval"] = "00:00:00.500";
        settings["Engagement__WriteBack__RetryDelay"] = "00:00:01";
        Ehr2.Updatable.Add("Appointment");
        settings["Engagement__Channels__sms__InboundSecret"] = SmsSecret;
        settings["Engagement__Channels__email__InboundSecret"] = EmailSecret;
        settings["Engagement__SecondsPerDay"] = "2";
        settings["Engagement__FollowUp__ContactWindowStart"] = "00:00";
        settings["Engagement__FollowUp__ContactWindowEnd"] = "23:59";
        Host = new StandaloneHost(settings);
        await Host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Ehr2.DisposeAsync();
    }

    public static string NewId(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..10];

    public static string NewPhone() => "+1555" + Random.Shared.Next(1000000, 9999999).ToString(System.Globalization.CultureInfo.InvariantCulture);

    public Task PutFromEhrAsync(Resource resource, string source = "ehr1") => EhrSide.PutAsync(Host, source, EhrSecret, resource);

    public async Task<HttpResponseMessage> PostInboundAsync(string channel, object body, string? secret = null, string contentType = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/inbound/{channel}", UriKind.Relative))
        {
            Content = new StringContent(body as string ?? JsonSerializer.Serialize(body), Encoding.UTF8, contentType),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret ?? (channel == "email" ? EmailSecret : SmsSecret));
        return await Host.Client.SendAsync(request);
    }

    public async Task<JsonElement> ReplyOkAsync(string channel, object body)
    {
        using var response = await PostInboundAsync(channel, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == System.Net.HttpStatusCode.OK, $"{response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<JsonElement>(text);
    }

    public async Task<List<T>> SearchAsync<T>(string patientId)
        where T : Resource
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/fhir/{typeof(T).Name}?patient={patientId}");
        using var response = await Host.Client.SendAsync(request);
        var bundle = new FhirJsonDeserializer().Deserialize<Bundle>(await response.Content.ReadAsStringAsync())!;
        return [.. bundle.Entry.Select(e => e.Resource).OfType<T>()];
    }

    public async Task<T?> ReadAsync<T>(string id)
        where T : Resource
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/fhir/{typeof(T).Name}/{id}");
        using var response = await Host.Client.SendAsync(request);
        return response.IsSuccessStatusCode ? new FhirJsonDeserializer().Deserialize<T>(await response.Content.ReadAsStringAsync()) : null;
    }

    public async Task<JsonElement> FollowUpsAsync(string patientId)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/followups?patient={patientId}");
        using var response = await Host.Client.SendAsync(request);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public async Task<JsonElement> FollowUpAsync(string instanceId)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/followups/{instanceId}");
        using var response = await Host.Client.SendAsync(request);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>The outbox row of one message (Status: Pending, Sent or Suppressed; SentAt).</summary>
    public async Task<TableEntity> OutboxRowAsync(string messageId)
    {
        var table = new TableClient(TestEnvironment.StorageConnectionString, Host.Settings["Engagement__Outbox__TableName"]);
        await foreach (var row in table.QueryAsync<TableEntity>(e => e.RowKey == messageId))
        {
            return row;
        }

        throw new InvalidOperationException("No outbox row " + messageId);
    }

    /// <summary>Everything this host put in its outbox for the patient, whatever the dispatcher did with it.</summary>
    public Task<List<OutreachMessage>> OutboxAsync(string patientId) => EhrSide.OutboxAsync(Host, patientId);

    /// <summary>A patient with a mobile number (rank 1) and optionally an email (rank 2), admitted and discharged now.</summary>
    public async Task<(string PatientId, string Phone, string InstanceId)> DischargeAsync(string language = "en", string? email = null)
    {
        var patientId = NewId("pat");
        var phone = NewPhone();
        var patient = FollowUpHarness.Patient(patientId, language, phone);
        patient.Telecom[0].Rank = 1;
        if (email is not null)
        {
            patient.Telecom.Add(new ContactPoint(ContactPoint.ContactPointSystem.Email, ContactPoint.ContactPointUse.Home, email) { Rank = 2 });
        }

        await PutFromEhrAsync(patient);
        await PatientStore.WaitUntilStoredAsync(patientId);
        await PutFromEhrAsync(FollowUpHarness.InpatientDischarge(NewId("enc"), patientId, DateTimeOffset.UtcNow));
        var runs = await Poll.UntilAsync(() => FollowUpsAsync(patientId), l => l.GetProperty("followUps").GetArrayLength() == 1, TimeSpan.FromSeconds(60), "the follow-up to start");
        return (patientId, phone, runs.GetProperty("followUps")[0].GetProperty("instanceId").GetString()!);
    }

    /// <summary>Waits for the first protocol message to the patient and returns it.</summary>
    public async Task<OutreachMessage> FirstSentAsync(string patientId, string templatePrefix) =>
        (await Poll.UntilAsync(() => OutboxAsync(patientId), m => m.Exists(x => x.TemplateCode == templatePrefix), TimeSpan.FromSeconds(90), templatePrefix + " to be sent"))
            .First(x => x.TemplateCode == templatePrefix);

    public static int Count(JsonElement run, string kind, string? occurrence = null) =>
        run.GetProperty("history").EnumerateArray().Count(h => h.GetProperty("kind").GetString() == kind
            && (occurrence is null || (h.TryGetProperty("occurrence", out var o) && o.GetString() == occurrence)));
}
