using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Engagement.Integration.Tests.FollowUp;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Integration.Tests.Intake;
using Engagement.Integration.Tests.Links;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.WriteBack;

/// <summary>
/// Write-back to the EHR (the in-test FHIR server stands in for it): a source whose CapabilityStatement offers
/// conditional create gets the run's CarePlan and Tasks, the messages as Communications, then the patient's
/// QuestionnaireResponse, its score Observation, the completed Task, the red-flag Task and Flag — each created once by conditional create on our identifier even when the server fails for a while,
/// with references to our resources rewritten to the ids the EHR gave them. A source that refuses writes is asked
/// once per resource; a source with <c>WriteBack=false</c>, or whose CapabilityStatement does not offer a type, gets
/// none of it.
/// </summary>
public sealed class WriteBackTests
{
    private const string Secret = "write-back-inbound-secret";
    private const string Ours = "http://engagement-functions.org/fhir/identifier/";
    private static readonly string[] Answers = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]; // PHQ-9 item values 0..3

    private static StandaloneHost NewHost(double secondsPerDay, params (string Source, Uri FhirBase, bool? WriteBack)[] sources)
    {
        var settings = LinkApi.Settings("k1", ("k1", LinkApi.SecretOne));
        foreach (var (source, fhirBase, writeBack) in sources)
        {
            settings[$"Engagement__Sources__{source}__InboundSecret"] = Secret;
            settings[$"Engagement__Sources__{source}__FhirBaseUrl"] = fhirBase.ToString();
            if (writeBack is { } explicitly)
            {
                settings[$"Engagement__Sources__{source}__WriteBack"] = explicitly ? "true" : "false";
            }
        }

        settings["Engagement__SecondsPerDay"] = secondsPerDay.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Engagement__FollowUp__ContactWindowStart"] = "00:00";
        settings["Engagement__FollowUp__ContactWindowEnd"] = "23:59";
        settings["Engagement__Outbox__DispatchInterval"] = "00:00:01";
        settings["Engagement__WriteBack__Interval"] = "00:00:00.500";
        settings["Engagement__WriteBack__RetryDelay"] = "00:00:01";
        return new StandaloneHost(settings);
    }

    private static string? Reference(JsonNode? node) => node?["reference"] is JsonValue value ? value.GetValue<string>() : null;

    private static string IdentifierValue(JsonObject resource) =>
        (resource["identifier"] is JsonArray list ? list[0]! : resource["identifier"]!)["value"]!.GetValue<string>();

    private static async Task<int> LocalCountAsync(StandaloneHost host, string type, string patientId)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/fhir/{type}?patient={patientId}");
        using var response = await host.Client.SendAsync(request);
        var bundle = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return bundle["entry"] is JsonArray entries ? entries.Count : 0;
    }

    [Fact]
    public async Task A_run_and_the_patients_answers_reach_the_EHR_once_each_with_references_to_the_EHRs_own_ids()
    {
        await using var ehr = new FakeFhirServer { FailNextWrites = 2 };
        await using var host = NewHost(2, ("ehr1", ehr.BaseUrl, true));
        await host.StartAsync();
        var patientId = FollowUpHarness.NewId("pat");
        await EhrSide.PutAsync(host, "ehr1", Secret, FollowUpHarness.Patient(patientId));
        await PatientStore.WaitUntilStoredAsync(patientId);
        await EhrSide.PutAsync(host, "ehr1", Secret, FollowUpHarness.InpatientDischarge(FollowUpHarness.NewId("enc"), patientId, DateTimeOffset.UtcNow));

        // The run's CarePlan and its three Tasks (check-in day 2, PHQ-9 day 7 and day 30), the CarePlan listing the
        // Tasks by the ids the EHR gave them.
        var (carePlanId, carePlan) = await Poll.UntilAsync(
            () => Task.FromResult(FirstOf(ehr.WrittenOf("CarePlan"))),
            c => c.Resource?["activity"] is JsonArray { Count: 3 },
            TimeSpan.FromSeconds(60),
            "the CarePlan to be written with its three activities");
        var tasks = ehr.WrittenOf("Task").Where(t => t.Resource["code"]!["coding"]![0]!["code"]!.GetValue<string>() is "complete-questionnaire" or "engagement-message").ToList();
        Assert.Equal(3, tasks.Count);
        Assert.Equal(
            tasks.Select(t => "Task/" + t.Id).Order(StringComparer.Ordinal),
            carePlan["activity"]!.AsArray().Select(a => Reference(a!["reference"])!).Order(StringComparer.Ordinal));
        Assert.All(tasks, t =>
        {
            Assert.Equal("CarePlan/" + carePlanId, Reference(t.Resource["basedOn"]![0]));
            Assert.Equal("Patient/" + patientId, Reference(t.Resource["for"]));
            Assert.StartsWith(Ours + "task", t.Resource["identifier"]![0]!["system"]!.GetValue<string>(), StringComparison.Ordinal);
        });
        Assert.Contains("post-discharge", carePlan["instantiatesCanonical"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(2, ehr.Writes.Count(w => w.EndsWith(" 503", StringComparison.Ordinal))); // the server's bad moment, retried

        // The day-7 PHQ-9, answered with item 9 above zero (total 9): a red flag.
        var token = await EhrSide.LinkTokenAsync(host, patientId, "phq-9", TimeSpan.FromSeconds(120));
        var items = string.Join(",", Enumerable.Range(0, 9).Select(i =>
            $$$"""{"linkId":"phq9-{{{i + 1}}}","answer":[{"valueCoding":{"system":"http://loinc.org","code":"{{{Answers[1]}}}"}}]}"""));
        using var content = new StringContent($$"""{"resourceType":"QuestionnaireResponse","status":"completed","item":[{{items}}]}""", Encoding.UTF8, "application/fhir+json");
        using var submitted = await host.Client.PostAsync(new Uri($"/api/engage/{token}/response", UriKind.Relative), content);
        Assert.Equal(HttpStatusCode.Created, submitted.StatusCode);

        var (responseId, response) = await Poll.UntilAsync(
            () => Task.FromResult(FirstOf(ehr.WrittenOf("QuestionnaireResponse"))),
            r => r.Resource is not null,
            TimeSpan.FromSeconds(60),
            "the QuestionnaireResponse to be written");
        var answeredTaskId = Reference(response["basedOn"]![0])!["Task/".Length..];
        Assert.Equal("Patient/" + patientId, Reference(response["subject"]));
        Assert.Contains(ehr.WrittenOf("Task"), t => t.Id == answeredTaskId);

        var (_, observation) = await Poll.UntilAsync(
            () => Task.FromResult(FirstOf(ehr.WrittenOf("Observation"))),
            o => o.Resource is not null,
            TimeSpan.FromSeconds(60),
            "the score Observation to be written");
        Assert.Equal("44261-6", observation["code"]!["coding"]![0]!["code"]!.GetValue<string>());
        Assert.Equal(9m, observation["valueQuantity"]!["value"]!.GetValue<decimal>());
        Assert.Equal("QuestionnaireResponse/" + responseId, Reference(observation["derivedFrom"]![0]));

        // The answered Task is updated in place (completed, its output the EHR's response), and the red-flag Task
        // points at the response by the EHR's id.
        await Poll.UntilAsync(
            () => Task.FromResult(ehr.Written.GetValueOrDefault("Task/" + answeredTaskId)),
            t => t?["status"]?.GetValue<string>() == "completed" && Reference(t["output"]?[0]?["valueReference"]) == "QuestionnaireResponse/" + responseId,
            TimeSpan.FromSeconds(60),
            "the answered Task to be completed at the EHR");
        var redFlag = await Poll.UntilAsync(
            () => Task.FromResult(ehr.WrittenOf("Task").Select(t => t.Resource).FirstOrDefault(t => t["code"]!["coding"]![0]!["code"]!.GetValue<string>() == "review-red-flag")),
            t => t is not null,
            TimeSpan.FromSeconds(60),
            "the red-flag Task to be written");
        Assert.Equal("QuestionnaireResponse/" + responseId, Reference(redFlag!["focus"]));

        // The messages sent (check-in, PHQ-9) as Communications based on the EHR's Tasks; the red flag as a Flag.
        var communications = await Poll.UntilAsync(
            () => Task.FromResult(ehr.WrittenOf("Communication")),
            c => c.Count >= 2,
            TimeSpan.FromSeconds(60),
            "the check-in and PHQ-9 messages to be written as Communications");
        Assert.All(communications, c => Assert.StartsWith("Task/ehr-", Reference(c.Resource["basedOn"]![0]), StringComparison.Ordinal));
        Assert.DoesNotContain(communications, c => c.Resource.ToJsonString().Contains("/engage/", StringComparison.Ordinal)); // no live link
        await Poll.UntilAsync(() => Task.FromResult(ehr.WrittenOf("Flag").Count), n => n == 1, TimeSpan.FromSeconds(60), "the red Flag to be written");

        // Once each, whatever the retries; no reference to anything the EHR does not hold. One snapshot of both: the run
        // goes on writing (later messages) while the test looks (CI, 2026-12-07: 15 creates counted against 14 written).
        var (written, writes) = ehr.Snapshot();
        Assert.All(written.GroupBy(w => w.Key.Split('/')[0] + "|" + IdentifierValue(w.Value)), g => Assert.Single(g));
        var references = written.SelectMany(w => Descendants(w.Value)).OfType<JsonObject>().Select(Reference).OfType<string>().ToList();
        Assert.DoesNotContain(references, r => r.StartsWith("Provenance/", StringComparison.Ordinal));
        Assert.All(
            references.Where(r => r.Split('/')[0] is "CarePlan" or "Task" or "Communication" or "QuestionnaireResponse" or "Observation" or "Flag" or "Consent"),
            r => Assert.True(written.Any(w => w.Key == r), r + " is not at the EHR"));
        Assert.Equal(written.Length, writes.Count(w => w.StartsWith("POST", StringComparison.Ordinal) && w.EndsWith(" 201", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_source_that_refuses_writes_is_asked_once_per_resource_and_sources_that_do_not_offer_writes_get_none()
    {
        await using var refusing = new FakeFhirServer { RefuseWrites = true };
        await using var readOnly = new FakeFhirServer();
        await using var responsesOnly = new FakeFhirServer();
        responsesOnly.Creatable.Remove("CarePlan");
        responsesOnly.Creatable.Remove("Task");
        // A slow clock: nothing in the runs changes while the test looks, so every write asked for is the first.
        await using var host = NewHost(
            3600,
            ("ehr1", refusing.BaseUrl, true), // WriteBack=true, but the server answers 403
            ("ehr2", readOnly.BaseUrl, false), // WriteBack=false
            ("ehr3", responsesOnly.BaseUrl, null)); // as the CapabilityStatement says: no CarePlan or Task create
        await host.StartAsync();
        var patients = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var source in new[] { "ehr1", "ehr2", "ehr3" })
        {
            patients[source] = FollowUpHarness.NewId("pat");
            await EhrSide.PutAsync(host, source, Secret, FollowUpHarness.Patient(patients[source]));
            await PatientStore.WaitUntilStoredAsync(patients[source]);
            await EhrSide.PutAsync(host, source, Secret, FollowUpHarness.InpatientDischarge(FollowUpHarness.NewId("enc"), patients[source], DateTimeOffset.UtcNow));
        }

        foreach (var patientId in patients.Values)
        {
            await Poll.UntilAsync(() => LocalCountAsync(host, "Task", patientId), n => n == 3, TimeSpan.FromSeconds(60), "a run's Tasks to be stored");
        }

        await Poll.UntilAsync(() => Task.FromResult(refusing.Writes.Count), n => n >= 4, TimeSpan.FromSeconds(60), "the CarePlan and three Tasks to be offered to ehr1");
        await Poll.UntilAsync(() => Task.FromResult(responsesOnly.Requests.Count(r => r == "/fhir/metadata")), n => n >= 1, TimeSpan.FromSeconds(60), "ehr3's CapabilityStatement to be read");
        await Task.Delay(TimeSpan.FromSeconds(5)); // ten more write-back passes

        Assert.Equal(4, refusing.Writes.Count);
        Assert.All(refusing.Writes, w => Assert.Matches(@"^POST /fhir/(CarePlan|Task) 403$", w));
        Assert.Empty(refusing.Written);
        Assert.Empty(readOnly.Writes);
        Assert.DoesNotContain("/fhir/metadata", readOnly.Requests);
        Assert.Empty(responsesOnly.Writes);
        Assert.Equal(1, responsesOnly.Requests.Count(r => r == "/fhir/metadata")); // read once, then kept
        Assert.Equal(1, await LocalCountAsync(host, "CarePlan", patients["ehr1"])); // refusal at the EHR changes nothing here
    }

    [Fact]
    public async Task A_patients_choices_on_the_page_go_into_the_EHRs_Patient_by_a_version_checked_update_that_keeps_the_EHRs_own_changes()
    {
        await using var ehr = new FakeFhirServer { ConflictNextUpdates = 1 }; // someone at the EHR edits the Patient first
        await using var noUpdates = new FakeFhirServer();
        noUpdates.Updatable.Clear(); // its CapabilityStatement offers no Patient update
        await using var host = NewHost(3600, ("ehr1", ehr.BaseUrl, null), ("ehr2", noUpdates.BaseUrl, null));
        await host.StartAsync();

        // The EHR's Patient (version 1, with elements we do not model), delivered to us by rest-hook.
        var patientId = FollowUpHarness.NewId("pat");
        var atEhr = JsonNode.Parse(FhirJsonOf(FollowUpHarness.Patient(patientId)))!.AsObject();
        atEhr["meta"] = new JsonObject { ["versionId"] = "1" };
        atEhr["gender"] = "female";
        atEhr["generalPractitioner"] = new JsonArray(new JsonObject { ["reference"] = "Practitioner/gp-1" });
        ehr.Resources["Patient/" + patientId] = atEhr.ToJsonString();
        await EhrSide.PutAsync(host, "ehr1", Secret, FollowUpHarness.Patient(patientId));
        await PatientStore.WaitUntilStoredAsync(patientId);
        var link = await LinkApi.IssueAsync(host, patientId, FollowUpHarness.NewId("task"));

        Assert.Equal(HttpStatusCode.OK, await PutPreferencesAsync(host, link.Token, """{"channel":"sms","language":"es","contactWindow":{"start":"08:30","end":"18:00"}}"""));

        var written = await Poll.UntilAsync(
            () => Task.FromResult(ehr.Written.GetValueOrDefault("Patient/" + patientId)),
            p => p is not null,
            TimeSpan.FromSeconds(60),
            "the patient's choices to reach the EHR's Patient");
        // The first update met the EHR's own edit (412); the Patient was read again and updated on top of that edit.
        Assert.Equal(
            [$"PUT /fhir/Patient/{patientId} 412", $"PUT /fhir/Patient/{patientId} 200"],
            ehr.Writes.Where(w => w.Contains("/Patient/", StringComparison.Ordinal)));
        Assert.Equal("3", written!["meta"]!["versionId"]!.GetValue<string>());
        Assert.True(written["active"]!.GetValue<bool>()); // the EHR's edit, kept
        Assert.Equal("female", written["gender"]!.GetValue<string>());
        Assert.Equal("Practitioner/gp-1", Reference(written["generalPractitioner"]![0]));
        Assert.Equal(atEhr["telecom"]!.ToJsonString(), written["telecom"]!.ToJsonString());
        Assert.Equal("sms", Extension(written, "preferred-channel")!["valueCode"]!.GetValue<string>());
        var window = Extension(written, "contact-window")!["extension"]!.AsArray();
        Assert.Equal(["08:30:00", "18:00:00"], window.Select(e => e!["valueTime"]!.GetValue<string>()));
        Assert.Equal(
            ["en:false", "es:true"],
            written["communication"]!.AsArray().Select(c => $"{c!["language"]!["coding"]![0]!["code"]}:{c["preferred"]}"));

        // The EHR's next version of the Patient (its subscription fires on the update) now says what the patient chose,
        // so the choices survive it: the language too, which the EHR owns.
        var nextVersion = (Hl7.Fhir.Model.Patient)System.Text.Json.JsonSerializer.Deserialize<Hl7.Fhir.Model.Resource>(ehr.Resources["Patient/" + patientId], Engagement.Http.FhirJson.Options)!;
        await EhrSide.PutAsync(host, "ehr1", Secret, nextVersion);
        var shown = await Poll.UntilAsync(
            async () => await PreferencesAsync(host, link.Token),
            p => p.Contains("\"es\"", StringComparison.Ordinal) && p.Contains("08:30", StringComparison.Ordinal) && p.Contains("\"sms\"", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30),
            "the preferences to show the choices after the EHR's new version");
        Assert.Contains("\"language\":\"es\"", shown, StringComparison.Ordinal);

        // A later change adds to what was written (the channel and window stay), a change back to what the EHR already
        // says writes nothing.
        Assert.Equal(HttpStatusCode.OK, await PutPreferencesAsync(host, link.Token, """{"language":"en"}"""));
        await Poll.UntilAsync(
            () => Task.FromResult(ehr.Written["Patient/" + patientId]),
            p => p["communication"]!.AsArray().Any(c => c!["language"]!["coding"]![0]!["code"]!.GetValue<string>() == "en" && c["preferred"]!.GetValue<bool>()),
            TimeSpan.FromSeconds(60),
            "the second change to reach the EHR");
        Assert.Equal("sms", Extension(ehr.Written["Patient/" + patientId], "preferred-channel")!["valueCode"]!.GetValue<string>());
        Assert.Equal(3, ehr.Writes.Count(w => w.Contains("/Patient/", StringComparison.Ordinal)));

        // A Patient the EHR does not have (404) is a refusal: asked once, not retried.
        var unknownId = FollowUpHarness.NewId("pat");
        await EhrSide.PutAsync(host, "ehr1", Secret, FollowUpHarness.Patient(unknownId));
        await PatientStore.WaitUntilStoredAsync(unknownId);
        var unknownLink = await LinkApi.IssueAsync(host, unknownId, FollowUpHarness.NewId("task"));
        Assert.Equal(HttpStatusCode.OK, await PutPreferencesAsync(host, unknownLink.Token, """{"language":"es"}"""));

        // A source whose CapabilityStatement offers no Patient update gets no request for it.
        var otherId = FollowUpHarness.NewId("pat");
        noUpdates.Resources["Patient/" + otherId] = FhirJsonOf(FollowUpHarness.Patient(otherId));
        await EhrSide.PutAsync(host, "ehr2", Secret, FollowUpHarness.Patient(otherId));
        await PatientStore.WaitUntilStoredAsync(otherId);
        var otherLink = await LinkApi.IssueAsync(host, otherId, FollowUpHarness.NewId("task"));
        Assert.Equal(HttpStatusCode.OK, await PutPreferencesAsync(host, otherLink.Token, """{"language":"es"}"""));

        await Poll.UntilAsync(() => Task.FromResult(ehr.Requests.Count(r => r == $"/fhir/Patient/{unknownId}")), n => n == 1, TimeSpan.FromSeconds(60), "the unknown Patient to be read");
        await Poll.UntilAsync(() => Task.FromResult(noUpdates.Requests.Count(r => r == "/fhir/metadata")), n => n >= 1, TimeSpan.FromSeconds(60), "ehr2's CapabilityStatement to be read");
        await Task.Delay(TimeSpan.FromSeconds(4)); // more write-back passes (every 0.5 s, retry delay 1 s)
        Assert.Equal(1, ehr.Requests.Count(r => r == $"/fhir/Patient/{unknownId}"));
        Assert.DoesNotContain(ehr.Writes, w => w.Contains(unknownId, StringComparison.Ordinal));
        Assert.Empty(noUpdates.Writes);
        Assert.DoesNotContain(noUpdates.Requests, r => r.StartsWith("/fhir/Patient", StringComparison.Ordinal));
    }

    private static string FhirJsonOf(Hl7.Fhir.Model.Resource resource) => Engagement.Http.FhirJson.Serialize(resource);

    private static JsonObject? Extension(JsonObject resource, string name) =>
        resource["extension"]?.AsArray().OfType<JsonObject>().FirstOrDefault(e => e["url"]!.GetValue<string>().EndsWith("/" + name, StringComparison.Ordinal));

    private static async Task<HttpStatusCode> PutPreferencesAsync(StandaloneHost host, string token, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await host.Client.PutAsync(new Uri($"/api/engage/{token}/preferences", UriKind.Relative), content);
        return response.StatusCode;
    }

    private static async Task<string> PreferencesAsync(StandaloneHost host, string token) =>
        await host.Client.GetStringAsync(new Uri($"/api/engage/{token}/preferences", UriKind.Relative));

    private static (string Id, JsonObject Resource) FirstOf(IReadOnlyList<(string Id, JsonObject Resource)> written) =>
        written.Count > 0 ? written[0] : default;

    private static IEnumerable<JsonNode> Descendants(JsonNode node) => node switch
    {
        JsonObject obj => new[] { node }.Concat(obj.Select(p => p.Value).OfType<JsonNode>().SelectMany(Descendants)),
        JsonArray array => array.OfType<JsonNode>().SelectMany(Descendants),
        _ => [node],
    };
}
