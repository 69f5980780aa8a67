using System.Text;
using Engagement.Integration.Tests.FollowUp;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Integration.Tests.Links;
using Hl7.Fhir.Model;
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
        await EhrSide.PutAsync(host, "ehr1", Secret, patient);
        await PatientStore.WaitUntilStoredAsync(patientId);
        await EhrSide.PutAsync(host, "ehr1", Secret, FollowUpHarness.InpatientDischarge(FollowUpHarness.NewId("enc"), patientId, DateTimeOffset.UtcNow));

        // The day-7 PHQ-9 link, answered with item 9 above zero: a red flag, an urgent Task and a clinician message.
        var token = await EhrSide.LinkTokenAsync(host, patientId, "phq-9", TimeSpan.FromSeconds(120));
        var items = string.Join(",", Enumerable.Range(0, 9).Select(i =>
            $$$"""{"linkId":"phq9-{{{i + 1}}}","answer":[{"valueCoding":{"system":"http://loinc.org","code":"{{{Answers[i == 8 ? 2 : 1]}}}"}}]}"""));
        using var content = new StringContent($$"""{"resourceType":"QuestionnaireResponse","status":"completed","item":[{{items}}]}""", Encoding.UTF8, "application/fhir+json");
        using var submitted = await host.Client.PostAsync(new Uri($"/api/engage/{token}/response", UriKind.Relative), content);
        Assert.True(submitted.IsSuccessStatusCode, await submitted.Content.ReadAsStringAsync());
        await Poll.UntilAsync(
            async () => (await EhrSide.OutboxAsync(host, patientId)).Count(m => m.Channel == "clinician"),
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
