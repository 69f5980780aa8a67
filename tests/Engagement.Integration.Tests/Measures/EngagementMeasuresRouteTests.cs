using System.Net;
using System.Text.Json;
using Engagement.Integration.Tests.Infrastructure;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Measures;

/// <summary>One standalone host for the measures route tests (they only read).</summary>
public sealed class MeasuresRouteFixture : IAsyncLifetime
{
    public StandaloneHost Host { get; } = new();

    public Task InitializeAsync() => Host.StartAsync();

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

/// <summary>The measures routes through the standalone host: parameters and access.</summary>
public sealed class EngagementMeasuresRouteTests(MeasuresRouteFixture fixture) : IClassFixture<MeasuresRouteFixture>
{
    private const string Engagement = "/api/fhir/MeasureReport/$engagement";
    private const string Metrics = "/api/metrics/engagement";
    private static readonly FhirJsonDeserializer Parser = new();

    private static async Task<(HttpStatusCode Status, string Body, string? MediaType)> GetAsync(StandaloneHost host, string path, string? adminKey = StandaloneHost.AdminKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        if (adminKey is not null)
        {
            request.Headers.Add("X-Admin-Key", adminKey);
        }

        using var response = await host.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response.Content.Headers.ContentType?.MediaType);
    }

    private static OperationOutcome Outcome(string body, string? mediaType)
    {
        Assert.Equal("application/fhir+json", mediaType);
        return Parser.Deserialize<OperationOutcome>(body)!;
    }

    [Theory]
    [InlineData("", "periodStart is required")]
    [InlineData("?periodStart=2026-01-01", "periodEnd is required")]
    [InlineData("?periodEnd=2026-01-01", "periodStart is required")]
    [InlineData("?periodStart=2026-13-01&periodEnd=2026-12-31", "not a FHIR date")]
    [InlineData("?periodStart=2026-01&periodEnd=2026-12-31", "not a FHIR date")]
    [InlineData("?periodStart=2026-01-01T10:00:00&periodEnd=2026-12-31", "not a FHIR date")] // a dateTime needs its zone
    [InlineData("?periodStart=2026-02-01&periodEnd=2026-01-01", "before periodStart")]
    [InlineData("?periodStart=2024-01-01&periodEnd=2026-01-01", "at most 366 days")]
    [InlineData("?periodStart=2026-01-01&periodEnd=2026-01-02&periodStart=2026-01-01", "'periodStart' may appear once")]
    [InlineData("?periodStart=2026-01-01&periodEnd=2026-01-31&protocol=a/b", "protocol must be")]
    [InlineData("?periodStart=2026-01-01&periodEnd=2026-01-31&protocol=", "protocol is empty")]
    [InlineData("?periodStart=2026-01-01&periodEnd=2026-01-31&subject=Patient/1", "Unknown parameter 'subject'")]
    public async Task Bad_parameters_are_a_400_OperationOutcome_on_both_routes(string query, string message)
    {
        foreach (var route in new[] { Engagement, Metrics })
        {
            var (status, body, mediaType) = await GetAsync(fixture.Host, route + query);
            Assert.True(status == HttpStatusCode.BadRequest, $"{route}{query}: {(int)status} {body}");
            var issue = Assert.Single(Outcome(body, mediaType).Issue);
            Assert.Equal(OperationOutcome.IssueSeverity.Error, issue.Severity);
            Assert.Contains(message, issue.Diagnostics, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Format_is_a_FHIR_parameter_and_only_json_is_served()
    {
        var (xml, xmlBody, xmlType) = await GetAsync(fixture.Host, Engagement + "?periodStart=2026-01-01&periodEnd=2026-01-02&_format=xml");
        Assert.Equal(HttpStatusCode.BadRequest, xml);
        Assert.Contains("Only JSON", Outcome(xmlBody, xmlType).Issue[0].Diagnostics, StringComparison.Ordinal);

        var (json, _, _) = await GetAsync(fixture.Host, Engagement + "?periodStart=2026-01-01&periodEnd=2026-01-02&_format=json");
        Assert.Equal(HttpStatusCode.OK, json);

        var (metrics, metricsBody, metricsType) = await GetAsync(fixture.Host, Metrics + "?periodStart=2026-01-01&periodEnd=2026-01-02&_format=json");
        Assert.Equal(HttpStatusCode.BadRequest, metrics);
        Assert.Contains("Unknown parameter '_format'", Outcome(metricsBody, metricsType).Issue[0].Diagnostics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_dateTime_with_a_zone_counts_as_its_UTC_date_and_the_period_is_inclusive()
    {
        var (status, body, _) = await GetAsync(fixture.Host, Engagement + "?periodStart=2026-01-01T22:30:00-05:00&periodEnd=2027-01-01&protocol=PlanDefinition/post-discharge");
        Assert.True(status == HttpStatusCode.OK, body);
        var report = Parser.Deserialize<MeasureReport>(body)!;
        Assert.Equal(11, report.Group.Count); // one group per engagement measure (ten, and score change)
        Assert.Equal(("2026-01-02", "2027-01-01"), (report.Period.Start, report.Period.End));
        Assert.Equal("PlanDefinition/post-discharge", report.EvaluatedResource.Single().Reference);
        Assert.Equal("http://engagement-functions.org/fhir/Measure/engagement-summary|0.1.0", report.Measure);
    }

    [Theory]
    [InlineData(null, "requires the X-Admin-Key header")]
    [InlineData("not-the-key", "not valid")]
    public async Task Without_the_admin_key_both_routes_are_a_401_OperationOutcome(string? key, string message)
    {
        foreach (var route in new[] { Engagement, Metrics })
        {
            var (status, body, mediaType) = await GetAsync(fixture.Host, route + "?periodStart=2026-01-01&periodEnd=2026-01-02", key);
            Assert.True(status == HttpStatusCode.Unauthorized, $"{route}: {(int)status} {body}");
            Assert.Equal("OperationOutcome", JsonDocument.Parse(body).RootElement.GetProperty("resourceType").GetString());
            Assert.Equal("application/fhir+json", mediaType);
            if (route == Metrics)
            {
                Assert.Contains(message, Outcome(body, mediaType).Issue[0].Diagnostics, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task The_dashboard_page_needs_no_key_but_holds_no_data_and_unknown_assets_are_404()
    {
        var (page, html, pageType) = await GetAsync(fixture.Host, "/dashboard", adminKey: null);
        Assert.Equal(HttpStatusCode.OK, page);
        Assert.Equal("text/html", pageType);
        Assert.DoesNotContain(StandaloneHost.AdminKey, html, StringComparison.Ordinal);

        var (missing, _, _) = await GetAsync(fixture.Host, "/dashboard/assets/secrets.json", adminKey: null);
        Assert.Equal(HttpStatusCode.NotFound, missing);
    }
}
