using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Azure.Data.Tables;
using Engagement.Http;
using Engagement.Outreach;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Infrastructure;

/// <summary>What an EHR and a patient do against a running host: deliver a resource, read the messages sent, follow a link.</summary>
public static class EhrSide
{
    /// <summary>
    /// Settings of a host that follows up on what source <c>ehr1</c> sends: link keys, the source's secret, a shrunk
    /// protocol clock, an all-day contact window (quiet hours have their own tests) and no dispatch (messages stay in
    /// the outbox table, where the tests read them).
    /// </summary>
    public static Dictionary<string, string?> FollowUpHostSettings(string secret, double secondsPerDay = 2)
    {
        var settings = Engagement.Integration.Tests.Links.LinkApi.Settings("k1", ("k1", Engagement.Integration.Tests.Links.LinkApi.SecretOne));
        settings["Engagement__Sources__ehr1__InboundSecret"] = secret;
        settings["Engagement__SecondsPerDay"] = secondsPerDay.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["Engagement__FollowUp__ContactWindowStart"] = "00:00";
        settings["Engagement__FollowUp__ContactWindowEnd"] = "23:59";
        settings["Engagement__Outbox__DispatchInterval"] = "1.00:00:00";
        return settings;
    }

    /// <summary>A classic rest-hook delivery: <c>PUT /api/notifications/{source}/{type}/{id}</c> with the resource.</summary>
    public static async Task PutAsync(StandaloneHost host, string source, string secret, Resource resource)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(resource);
        using var request = new HttpRequestMessage(HttpMethod.Put, new Uri($"/api/notifications/{source}/{resource.TypeName}/{resource.Id}", UriKind.Relative))
        {
            Content = new StringContent(FhirJson.Serialize(resource), Encoding.UTF8, "application/fhir+json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var response = await host.Client.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>The host's outbox messages for a patient.</summary>
    public static async Task<List<OutreachMessage>> OutboxAsync(StandaloneHost host, string patientId)
    {
        ArgumentNullException.ThrowIfNull(host);
        var table = new TableClient(TestEnvironment.StorageConnectionString, host.Settings["Engagement__Outbox__TableName"]);
        var messages = new List<OutreachMessage>();
        await foreach (var row in table.QueryAsync<TableEntity>())
        {
            var message = JsonSerializer.Deserialize<OutreachMessage>(row.GetString("Body"))!;
            if (message.PatientId == patientId && !OutboxStore.IsPendingMarker(row.RowKey))
            {
                messages.Add(message);
            }
        }

        return messages;
    }

    /// <summary>Waits for a link sent to the patient whose questionnaire context contains <paramref name="marker"/>; returns its token.</summary>
    public static async Task<string> LinkTokenAsync(StandaloneHost host, string patientId, string marker, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(host);
        string? token = null;
        await Poll.UntilAsync(async () =>
        {
            foreach (var link in (await OutboxAsync(host, patientId)).Select(m => m.Link).OfType<string>())
            {
                var candidate = link[(link.LastIndexOf('/') + 1)..];
                using var context = await host.Client.GetAsync(new Uri($"/api/engage/{candidate}", UriKind.Relative));
                if (context.IsSuccessStatusCode && (await context.Content.ReadAsStringAsync()).Contains(marker, StringComparison.Ordinal))
                {
                    token = candidate;
                }
            }

            return token;
        }, t => t is not null, timeout, $"a link for '{marker}' to be sent");
        return token!;
    }
}
