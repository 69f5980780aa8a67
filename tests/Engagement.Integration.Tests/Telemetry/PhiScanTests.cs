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

namespace Engagement.Integration.Tests.Telemetry;

/// <summary>
/// No PHI in anything the host emits: a whole scenario (discharge from the EHR → outreach → a PHQ-9 answered with a
/// red flag → escalation to the care team) with every log line, span and metric written to the console, then every
/// line searched for the patient's names, birth date, identifier, phone and email.
/// </summary>
public sealed class PhiScanTests
{
    private const string Secret = "phi-scan-inbound-secret";
    private static readonly string[] Answers = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"];

    private static async Task PutAsync(StandaloneHost host, Resource resource)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, new Uri($"/api/notifications/ehr1/{resource.TypeName}/{resource.Id}", UriKind.Relative))
        {
            Content = new StringContent(new FhirJsonSerializer().SerializeToString(resource), Encoding.UTF8, "application/fhir+json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Secret);
        using var response = await host.Client.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    private static async Task<List<OutreachMessage>> OutboxAsync(StandaloneHost host, string patientId)
    {
        var table = new TableClient(TestEnvironment.StorageConnectionString, host.Settings["Engagement__Outbox__TableName"]);
        var messages = new List<OutreachMessage>();
        await foreach (var row in table.QueryAsync<TableEntity>())
        {
            var message = JsonSerializer.Deserialize<OutreachMessage>(row.GetString("Body"))!;
            if (message.PatientId == patientId)
            {
                messages.Add(message);
            }
        }

        return messages;
    }

    [Fact]
    public async Task A_discharge_to_red_flag_scenario_emits_no_names_birth_date_identifier_phone_or_email()
    {
        var settings = LinkApi.Settings("k1", ("k1", LinkApi.SecretOne));
        settings["Engagement__Telemetry__Exporter"] = "console";
        settings["Engagement__Sources__ehr1__InboundSecret"] = Secret;
        settings["Engagement__SecondsPerDay"] = "2";
        settings["Engagement__FollowUp__ContactWindowStart"] = "00:00";
        settings["Engagement__FollowUp__ContactWindowEnd"] = "23:59";
        settings["Engagement__Outbox__DispatchInterval"] = "00:00:01";
        settings["Logging__LogLevel__Default"] = "Debug";
        await using var host = new StandaloneHost(settings);
        await host.StartAsync();

        var patientId = FollowUpHarness.NewId("pat");
        var patient = FollowUpHarness.Patient(patientId, phone: "+15555550187");
        patient.Name = [new HumanName { Family = "Quixoticwright", Given = ["Zebulonia"] }];
        patient.BirthDate = "1961-07-23";
        patient.Identifier = [new Identifier("urn:oid:1.2.36.146.595.217.0.1", "MRN84736251")];
        patient.Telecom.Add(new ContactPoint(ContactPoint.ContactPointSystem.Email, ContactPoint.ContactPointUse.Home, "zebulonia.q@example.org"));
        await PutAsync(host, patient);
        await PatientStore.WaitUntilStoredAsync(patientId);
        await PutAsync(host, FollowUpHarness.InpatientDischarge(FollowUpHarness.NewId("enc"), patientId, DateTimeOffset.UtcNow));

        // The day-7 PHQ-9 link, answered with item 9 above zero: a red flag, an urgent Task and a clinician message.
        string? token = null;
        await Poll.UntilAsync(async () =>
        {
            foreach (var link in (await OutboxAsync(host, patientId)).Select(m => m.Link).OfType<string>())
            {
                var candidate = link[(link.LastIndexOf('/') + 1)..];
                using var context = await host.Client.GetAsync(new Uri($"/api/engage/{candidate}", UriKind.Relative));
                if (context.IsSuccessStatusCode && (await context.Content.ReadAsStringAsync()).Contains("phq-9", StringComparison.Ordinal))
                {
                    token = candidate;
                }
            }

            return token;
        }, t => t is not null, TimeSpan.FromSeconds(120), "the PHQ-9 link to be sent");
        var items = string.Join(",", Enumerable.Range(0, 9).Select(i =>
            $$$"""{"linkId":"phq9-{{{i + 1}}}","answer":[{"valueCoding":{"system":"http://loinc.org","code":"{{{Answers[i == 8 ? 2 : 1]}}}"}}]}"""));
        using var content = new StringContent($$"""{"resourceType":"QuestionnaireResponse","status":"completed","item":[{{items}}]}""", Encoding.UTF8, "application/fhir+json");
        using var submitted = await host.Client.PostAsync(new Uri($"/api/engage/{token}/response", UriKind.Relative), content);
        Assert.True(submitted.IsSuccessStatusCode, await submitted.Content.ReadAsStringAsync());
        await Poll.UntilAsync(
            async () => (await OutboxAsync(host, patientId)).Count(m => m.Channel == "clinician"),
            n => n >= 1,
            TimeSpan.FromSeconds(60),
            "the escalation to the care team");
        using var followUps = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/followups?patient={patientId}");
        Assert.True((await host.Client.SendAsync(followUps)).IsSuccessStatusCode);
        await Task.Delay(TimeSpan.FromSeconds(6)); // one more periodic metrics export

        var output = host.Output.ToList();
        Assert.Contains(output, l => l.Contains("Activity.DisplayName:", StringComparison.Ordinal)); // traces were emitted
        Assert.Contains(output, l => l.Contains("engagement.responses.received", StringComparison.Ordinal)); // and metrics
        string[] phi = ["Quixoticwright", "Zebulonia", "1961-07-23", "07/23/1961", "23/07/1961", "MRN84736251", "5555550187", "zebulonia.q@example.org", "example.org"];
        var found = phi.SelectMany(value => output.Where(l => l.Contains(value, StringComparison.OrdinalIgnoreCase)).Select(l => $"{value}: {l}")).ToList();
        Assert.True(found.Count == 0, $"PHI in {found.Count} emitted lines (of {output.Count}):{Environment.NewLine}{string.Join(Environment.NewLine, found.Take(20))}");
    }
}
