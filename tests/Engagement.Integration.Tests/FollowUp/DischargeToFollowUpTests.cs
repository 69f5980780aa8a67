using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Engagement.Integration.Tests.Infrastructure;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.FollowUp;

/// <summary>
/// The whole path through the standalone host: the EHR delivers a Patient and a finished inpatient Encounter
/// (classic rest-hook), intake acknowledges and routes them, a post-discharge run starts, outreach goes to the
/// outbox, and the care team sees the run. Then the host is killed mid-protocol and restarted: the run goes on
/// without repeating what it already sent.
/// </summary>
public sealed class DischargeToFollowUpTests
{
    private const string Secret = "discharge-e2e-inbound-secret";

    private static StandaloneHost NewHost()
    {
        return new StandaloneHost(EhrSide.FollowUpHostSettings(Secret));
    }

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

    private static async Task<JsonElement> FollowUpsAsync(StandaloneHost host, string patientId)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/followups?patient={patientId}");
        using var response = await host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task<JsonElement> FollowUpAsync(StandaloneHost host, string instanceId)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/followups/{instanceId}");
        using var response = await host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static int Count(JsonElement run, string kind) =>
        run.GetProperty("history").EnumerateArray().Count(h => h.GetProperty("kind").GetString() == kind);

    [Fact]
    public async Task A_discharge_from_the_EHR_starts_follow_up_and_a_killed_host_resumes_it_without_resending()
    {
        await using var host = NewHost();
        await host.StartAsync();
        var patientId = "pat-" + Guid.NewGuid().ToString("N")[..10];
        await PutAsync(host, FollowUpHarness.Patient(patientId));
        await PatientStore.WaitUntilStoredAsync(patientId);
        await PutAsync(host, FollowUpHarness.InpatientDischarge("enc-" + Guid.NewGuid().ToString("N")[..10], patientId, DateTimeOffset.UtcNow));

        var list = await Poll.UntilAsync(() => FollowUpsAsync(host, patientId), l => l.GetProperty("followUps").GetArrayLength() == 1, TimeSpan.FromSeconds(60), "the follow-up to start");
        var instanceId = list.GetProperty("followUps")[0].GetProperty("instanceId").GetString()!;
        Assert.Equal("post-discharge", list.GetProperty("followUps")[0].GetProperty("protocol").GetString());

        // Day 2 check-in goes out (4 s on this clock); kill -9 while the run waits for the answer.
        var sent = await Poll.UntilAsync(() => FollowUpAsync(host, instanceId), r => Count(r, "sent") >= 1, TimeSpan.FromSeconds(60), "the first message");
        await host.KillAsync();
        await host.StartAsync();

        var done = await Poll.UntilAsync(() => FollowUpAsync(host, instanceId), r => r.GetProperty("runtimeStatus").GetString() == "Completed", TimeSpan.FromSeconds(180), "completion after restart");
        Assert.Equal(3, Count(done, "sent"));        // check-in, PHQ-9 day 7, PHQ-9 day 30: each once
        Assert.Equal(6, Count(done, "reminded"));    // two reminders each
        Assert.Equal(3, Count(done, "escalated"));
        Assert.Equal("completed", done.GetProperty("result").GetProperty("outcome").GetString());
        Assert.True(Count(sent, "sent") <= Count(done, "sent"));

        using var tasks = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/fhir/Task?patient={patientId}");
        var bundle = new FhirJsonDeserializer().Deserialize<Bundle>(await (await host.Client.SendAsync(tasks)).Content.ReadAsStringAsync())!;
        Assert.Equal(6, bundle.Total); // 3 activities + 3 escalations

        // What the engine produced conforms to our profiles (fhir-profiles/), read back through the facade.
        await Conformance.AssertProducedResourcesConformAsync(host, patientId, "CarePlan", "Task", "Communication");
    }
}
