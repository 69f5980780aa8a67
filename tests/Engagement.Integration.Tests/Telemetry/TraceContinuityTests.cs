using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Engagement.Integration.Tests.FollowUp;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Integration.Tests.Links;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Telemetry;

/// <summary>
/// One trace follows a notification: the EHR's request (its W3C traceparent honoured), intake's asynchronous
/// processing, the follow-up start, the orchestration's send activity and the outbox dispatch all carry the same
/// trace id, across the queue, the durable engine and the outbox table.
/// </summary>
public sealed class TraceContinuityTests
{
    private const string Secret = "trace-e2e-inbound-secret";

    private static async Task PutAsync(StandaloneHost host, Resource resource, string? traceParent)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, new Uri($"/api/notifications/ehr1/{resource.TypeName}/{resource.Id}", UriKind.Relative))
        {
            Content = new StringContent(new FhirJsonSerializer().SerializeToString(resource), Encoding.UTF8, "application/fhir+json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Secret);
        if (traceParent is not null)
        {
            request.Headers.Add("traceparent", traceParent);
        }

        using var response = await host.Client.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>The console exporter's spans: (display name, trace id) per "Activity.TraceId" block.</summary>
    private static SpanList Spans(IEnumerable<string> lines)
    {
        var spans = new SpanList();
        string? traceId = null;
        foreach (var line in lines)
        {
            var text = line.Trim();
            if (text.StartsWith("Activity.TraceId:", StringComparison.Ordinal))
            {
                traceId = text["Activity.TraceId:".Length..].Trim();
            }
            else if (text.StartsWith("Activity.DisplayName:", StringComparison.Ordinal) && traceId is not null)
            {
                spans.Add((text["Activity.DisplayName:".Length..].Trim(), traceId));
                traceId = null;
            }
        }

        return spans;
    }

    [Fact]
    public async Task A_discharge_notification_is_one_trace_from_the_EHR_request_to_the_dispatched_message()
    {
        var settings = LinkApi.Settings("k1", ("k1", LinkApi.SecretOne));
        settings["Engagement__Telemetry__Exporter"] = "console";
        settings["Engagement__Sources__ehr1__InboundSecret"] = Secret;
        settings["Engagement__SecondsPerDay"] = "2";
        settings["Engagement__FollowUp__ContactWindowStart"] = "00:00";
        settings["Engagement__FollowUp__ContactWindowEnd"] = "23:59";
        settings["Engagement__Outbox__DispatchInterval"] = "00:00:01"; // link hosts keep it idle; this test follows the dispatch
        await using var host = new StandaloneHost(settings);
        await host.StartAsync();
        var patientId = "pat-" + Guid.NewGuid().ToString("N")[..10];
        var traceId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        await PutAsync(host, FollowUpHarness.Patient(patientId), traceParent: null);
        await PatientStore.WaitUntilStoredAsync(patientId);
        await PutAsync(host, FollowUpHarness.InpatientDischarge("enc-" + Guid.NewGuid().ToString("N")[..10], patientId, DateTimeOffset.UtcNow), $"00-{traceId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}-01");

        string[] expected = ["intake.process", "followup.start", "followup.send", "outreach.dispatch"];
        SpanList spans;
        try
        {
            spans = await Poll.UntilAsync(
                () => Task.FromResult(Spans(host.Output)),
                all => expected.All(name => all.Contains((name, traceId))),
                TimeSpan.FromSeconds(180),
                "every stage's span in the EHR request's trace");
        }
        catch (TimeoutException e)
        {
            var log = host.Output.Where(l => l.Contains("Outreach", StringComparison.OrdinalIgnoreCase) || l.Contains("Outbox", StringComparison.OrdinalIgnoreCase) || l.Contains("fail", StringComparison.OrdinalIgnoreCase));
            throw new TimeoutException(e.Message + Environment.NewLine + string.Join(Environment.NewLine, log.TakeLast(40)), e);
        }

        Assert.Contains(spans, s => s.TraceId == traceId && s.Name.StartsWith("PUT /api/notifications/", StringComparison.Ordinal));
        // The patient's own notification had no traceparent: its processing is a different trace.
        Assert.Contains(spans, s => s.Name == "intake.process" && s.TraceId != traceId);
    }

    private sealed class SpanList : List<(string Name, string TraceId)>
    {
        public override string ToString() => string.Join(", ", this.Select(s => $"{s.Name}@{s.TraceId[..8]}"));
    }
}
