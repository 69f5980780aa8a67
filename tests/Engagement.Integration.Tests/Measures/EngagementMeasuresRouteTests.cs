using System.Net;
using System.Text.Json;
using Engagement.Integration.Tests.Infrastructure;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Measures;

/// <summary>The measures routes through the standalone host: parameters and access.</summary>
public sealed class EngagementMeasuresRouteTests
{
    private static readonly FhirJsonDeserializer Parser = new();

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(StandaloneHost host, string path, bool admin = true)
    {
        using var request = admin ? StandaloneHost.AdminRequest(HttpMethod.Get, path) : new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        using var response = await host.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("", "periodStart is required")]
    [InlineData("?periodStart=2026-01-01", "periodEnd is required")]
    [InlineData("?periodStart=2026-13-01&periodEnd=2026-12-31", "not a FHIR date")]
    [InlineData("?periodStart=2026-02-01&periodEnd=2026-01-01", "before periodStart")]
    [InlineData("?periodStart=2024-01-01&periodEnd=2026-01-01", "at most 366 days")]
    [InlineData("?periodStart=2026-01-01&periodEnd=2026-01-31&protocol=a/b", "protocol must be")]
    [InlineData("?periodStart=2026-01-01&periodEnd=2026-01-31&subject=Patient/1", "Unknown parameter 'subject'")]
    public async Task Bad_parameters_are_a_400_OperationOutcome_on_both_routes(string query, string message)
    {
        await using var host = new StandaloneHost();
        await host.StartAsync();
        foreach (var route in new[] { "/api/fhir/MeasureReport/$engagement", "/api/metrics/engagement" })
        {
            var (status, body) = await GetAsync(host, route + query);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            var outcome = Parser.Deserialize<OperationOutcome>(body)!;
            Assert.Contains(message, outcome.Issue[0].Diagnostics, StringComparison.Ordinal);
        }

        var (unauthorized, denied) = await GetAsync(host, "/api/fhir/MeasureReport/$engagement?periodStart=2026-01-01&periodEnd=2026-01-02", admin: false);
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized);
        Assert.Equal("OperationOutcome", JsonDocument.Parse(denied).RootElement.GetProperty("resourceType").GetString());
        var (metricsUnauthorized, _) = await GetAsync(host, "/api/metrics/engagement?periodStart=2026-01-01&periodEnd=2026-01-02", admin: false);
        Assert.Equal(HttpStatusCode.Unauthorized, metricsUnauthorized);
    }
}
