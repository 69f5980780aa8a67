using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Testing.Smart;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Smart;

/// <summary>
/// The dashboard's data (<c>GET /api/metrics/engagement</c>) for the care team: the admin key, or a bearer token of a
/// configured staff issuer (in-test authorization servers: one configured with <c>Staff=true</c>, one without) with no
/// patient in context and a scope to read MeasureReport. Everything else is refused without detail of the token.
/// </summary>
public sealed class StaffDashboardAccessTests : IAsyncLifetime
{
    private const string Route = "/api/metrics/engagement?periodStart=2026-01-01&periodEnd=2026-01-31";
    private readonly TestSmartIssuer staffIssuer = new();
    private readonly TestSmartIssuer appIssuer = new();
    private readonly TestSigningKey key = TestSigningKey.Rsa256("staff-rsa-1");
    private readonly StandaloneHost host;
    private readonly string audience;

    public StaffDashboardAccessTests()
    {
        staffIssuer.AddKey(key);
        appIssuer.AddKey(key);
        host = new StandaloneHost(new Dictionary<string, string?>
        {
            ["Engagement__Smart__Issuers__0__Issuer"] = staffIssuer.Issuer,
            ["Engagement__Smart__Issuers__0__Staff"] = "true",
            ["Engagement__Smart__Issuers__1__Issuer"] = appIssuer.Issuer,
            ["Engagement__Outbox__DispatchInterval"] = "1.00:00:00",
        });
        audience = host.BaseAddress.ToString().TrimEnd('/') + "/api/fhir";
        host.Settings["Engagement__Smart__Issuers__0__Audience"] = audience;
        host.Settings["Engagement__Smart__Issuers__1__Audience"] = audience;
    }

    public async Task InitializeAsync()
    {
        await staffIssuer.StartAsync();
        await appIssuer.StartAsync();
        await host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await host.DisposeAsync();
        await staffIssuer.DisposeAsync();
        await appIssuer.DisposeAsync();
    }

    [Theory]
    [InlineData("openid fhirUser user/MeasureReport.rs")]
    [InlineData("user/MeasureReport.read")]
    [InlineData("user/*.read")]
    public async Task A_staff_token_that_may_read_MeasureReport_gets_the_dashboard_data(string scope)
    {
        var token = SmartTestTokens.Create(key, staffIssuer.Issuer, audience, scope, fhirUser: "Practitioner/dr-1");

        var (status, body) = await GetAsync(bearer: token);

        Assert.True(status == HttpStatusCode.OK, body);
        using var json = JsonDocument.Parse(body);
        Assert.Equal(0, json.RootElement.GetProperty("totals").GetProperty("message-sent").GetInt64());
    }

    [Fact]
    public async Task The_admin_key_still_opens_it()
    {
        var (status, body) = await GetAsync(adminKey: StandaloneHost.AdminKey);

        Assert.True(status == HttpStatusCode.OK, body);
    }

    [Fact]
    public async Task A_patients_token_a_token_without_the_scope_and_a_token_of_an_issuer_not_configured_for_staff_are_403()
    {
        var now = DateTimeOffset.UtcNow;
        (string Token, string Why)[] refused =
        [
            (SmartTestTokens.Create(key, staffIssuer.Issuer, audience, "user/MeasureReport.rs", patient: "p-1"), "patient in context"),
            (SmartTestTokens.Create(key, staffIssuer.Issuer, audience, "user/MeasureReport.rs", fhirUser: "Patient/p-1"), "patient as fhirUser"),
            (SmartTestTokens.Create(key, staffIssuer.Issuer, audience, "user/Task.rs user/Questionnaire.rs", fhirUser: "Practitioner/dr-1"), "no MeasureReport scope"),
            (SmartTestTokens.Create(key, staffIssuer.Issuer, audience, "patient/MeasureReport.rs", fhirUser: "Practitioner/dr-1"), "a patient-level scope"),
            (SmartTestTokens.Create(key, appIssuer.Issuer, audience, "user/MeasureReport.rs", fhirUser: "Practitioner/dr-1"), "issuer not for staff"),
        ];
        foreach (var (token, why) in refused)
        {
            var (status, body) = await GetAsync(bearer: token);
            Assert.True(status == HttpStatusCode.Forbidden, $"{why}: {(int)status} {body}");
            Assert.Equal("OperationOutcome", JsonDocument.Parse(body).RootElement.GetProperty("resourceType").GetString());
        }

        // A token that is not valid (expired, another audience) or no credentials at all: 401.
        foreach (var token in new[]
        {
            SmartTestTokens.Create(key, staffIssuer.Issuer, audience, "user/MeasureReport.rs", notBefore: now.AddHours(-2), expires: now.AddHours(-1)),
            SmartTestTokens.Create(key, staffIssuer.Issuer, "https://other.example.org/fhir", "user/MeasureReport.rs"),
            "not-a-token",
        })
        {
            var (status, body) = await GetAsync(bearer: token);
            Assert.True(status == HttpStatusCode.Unauthorized, $"{(int)status} {body}");
            Assert.DoesNotContain("expired", body, StringComparison.OrdinalIgnoreCase); // no detail of why the token failed
        }

        var (none, noneBody) = await GetAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, none);
        Assert.Contains("requires the X-Admin-Key header or a staff bearer access token", noneBody, StringComparison.Ordinal);
    }

    private async Task<(HttpStatusCode Status, string Body)> GetAsync(string? bearer = null, string? adminKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Route);
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        if (adminKey is not null)
        {
            request.Headers.Add("X-Admin-Key", adminKey);
        }

        using var response = await host.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}
