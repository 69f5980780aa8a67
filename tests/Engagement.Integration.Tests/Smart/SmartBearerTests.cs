using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Testing.Smart;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Smart;

/// <summary>
/// Bearer validation through the standalone host against an in-test authorization server, driven through the
/// test-only probe <c>/api/diagnostics/smart/authorize</c>, which runs the authenticator and access checks the FHIR
/// routes use.
/// </summary>
[Collection(SmartCollection.Name)]
public sealed class SmartBearerTests(SmartFixture fixture)
{
    private const string PatientScopes = "launch/patient openid fhirUser patient/QuestionnaireResponse.cru patient/Questionnaire.rs patient/Task.rs";
    private static readonly FhirJsonDeserializer Parser = new();
    private static readonly string[] ExpectedResources = ["CarePlan", "Communication", "MeasureReport", "PlanDefinition", "Questionnaire", "QuestionnaireResponse", "Task"];

    [Fact]
    public async Task A_valid_token_for_our_audience_is_accepted_with_its_patient_context()
    {
        var token = Token(fixture.Rsa, PatientScopes, "p-100");

        using var response = await ProbeAsync(token, "QuestionnaireResponse", "c", patient: "p-100");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("p-100", body.RootElement.GetProperty("patient").GetString());
    }

    [Fact]
    public async Task An_ES256_token_is_accepted()
    {
        using var response = await ProbeAsync(Token(fixture.Ec, PatientScopes, "p-100"), "Questionnaire", "r");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task An_expired_token_is_401_with_an_OperationOutcome_and_a_bearer_challenge()
    {
        var now = DateTimeOffset.UtcNow;
        var token = SmartTestTokens.Create(fixture.Rsa, fixture.Issuer.Issuer, fixture.Audience, PatientScopes, "p-100", notBefore: now.AddHours(-2), expires: now.AddHours(-1));

        using var response = await ProbeAsync(token, "Questionnaire", "r");

        await AssertRefusedAsync(response, HttpStatusCode.Unauthorized, "expired");
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
    }

    [Fact]
    public async Task A_token_not_valid_yet_is_401()
    {
        var now = DateTimeOffset.UtcNow;
        var token = SmartTestTokens.Create(fixture.Rsa, fixture.Issuer.Issuer, fixture.Audience, PatientScopes, "p-100", notBefore: now.AddMinutes(10), expires: now.AddMinutes(20));

        await AssertRefusedAsync(await ProbeAsync(token, "Questionnaire", "r"), HttpStatusCode.Unauthorized, "not valid yet");
    }

    [Fact]
    public async Task A_token_for_another_audience_is_401()
    {
        var token = SmartTestTokens.Create(fixture.Rsa, fixture.Issuer.Issuer, "https://other.example.org/fhir", PatientScopes, "p-100");

        await AssertRefusedAsync(await ProbeAsync(token, "Questionnaire", "r"), HttpStatusCode.Unauthorized, "audience");
    }

    [Fact]
    public async Task A_token_from_another_issuer_is_401()
    {
        var token = SmartTestTokens.Create(fixture.Rsa, "http://127.0.0.1:1/other-issuer", fixture.Audience, PatientScopes, "p-100");

        await AssertRefusedAsync(await ProbeAsync(token, "Questionnaire", "r"), HttpStatusCode.Unauthorized, "issuer");
    }

    [Fact]
    public async Task A_token_with_an_unknown_kid_is_401_until_the_issuer_publishes_the_rotated_key()
    {
        var rotated = TestSigningKey.Rsa256("rsa-rotated-" + Guid.NewGuid().ToString("N")[..6]);
        var token = Token(rotated, PatientScopes, "p-100");

        await AssertRefusedAsync(await ProbeAsync(token, "Questionnaire", "r"), HttpStatusCode.Unauthorized, "unknown key");

        fixture.Issuer.AddKey(rotated);
        // The refresh for an unknown kid is rate-limited (1 s here): the next attempt after that picks up the new key.
        await Poll.UntilAsync(
            async () =>
            {
                using var retry = await ProbeAsync(token, "Questionnaire", "r");
                return retry.StatusCode;
            },
            status => status == HttpStatusCode.OK,
            TimeSpan.FromSeconds(15),
            "the rotated key to be accepted");
    }

    [Fact]
    public async Task An_alg_none_token_is_401()
    {
        var token = SmartTestTokens.AlgNone(fixture.Issuer.Issuer, fixture.Audience, PatientScopes, "p-100");

        await AssertRefusedAsync(await ProbeAsync(token, "Questionnaire", "r"), HttpStatusCode.Unauthorized, "algorithm");
    }

    [Fact]
    public async Task An_HS256_token_keyed_with_the_issuers_public_key_is_401()
    {
        var token = SmartTestTokens.Hs256WithPublicKey(fixture.Rsa, fixture.Issuer.Issuer, fixture.Audience, PatientScopes, "p-100");

        await AssertRefusedAsync(await ProbeAsync(token, "Questionnaire", "r"), HttpStatusCode.Unauthorized, "algorithm");
    }

    [Fact]
    public async Task No_token_is_401()
    {
        using var response = await fixture.Host.Client.GetAsync(new Uri("/api/diagnostics/smart/authorize?type=Questionnaire&interaction=r", UriKind.Relative));

        await AssertRefusedAsync(response, HttpStatusCode.Unauthorized, "bearer");
    }

    [Fact]
    public async Task A_token_without_the_needed_scope_is_403()
    {
        var token = Token(fixture.Rsa, "launch/patient patient/Questionnaire.rs", "p-100");

        await AssertRefusedAsync(await ProbeAsync(token, "QuestionnaireResponse", "c", patient: "p-100"), HttpStatusCode.Forbidden, "scopes");
    }

    [Theory]
    [InlineData("patient/QuestionnaireResponse.write", "c", HttpStatusCode.OK)]
    [InlineData("patient/QuestionnaireResponse.read", "r", HttpStatusCode.OK)]
    [InlineData("patient/QuestionnaireResponse.read", "c", HttpStatusCode.Forbidden)]
    [InlineData("patient/QuestionnaireResponse.*", "u", HttpStatusCode.OK)]
    [InlineData("patient/QuestionnaireResponse.c", "c", HttpStatusCode.OK)]
    [InlineData("patient/QuestionnaireResponse.rs", "c", HttpStatusCode.Forbidden)]
    [InlineData("patient/QuestionnaireResponse.cru", "d", HttpStatusCode.Forbidden)]
    public async Task SMART_v1_and_v2_scopes_grant_their_interactions(string scope, string interaction, HttpStatusCode expected)
    {
        using var response = await ProbeAsync(Token(fixture.Rsa, scope, "p-100"), "QuestionnaireResponse", interaction, patient: "p-100");

        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task A_patient_gets_403_for_another_patients_resources_and_searches()
    {
        var token = Token(fixture.Rsa, PatientScopes, "p-100");

        await AssertRefusedAsync(await ProbeAsync(token, "QuestionnaireResponse", "r", patient: "p-200"), HttpStatusCode.Forbidden, "patient");
        await AssertRefusedAsync(await ProbeAsync(token, "Task", null, patient: "Patient/p-200", search: true), HttpStatusCode.Forbidden, "another patient");
    }

    [Fact]
    public async Task A_patients_search_without_a_patient_is_restricted_to_them()
    {
        using var response = await ProbeAsync(Token(fixture.Rsa, PatientScopes, "p-100"), "Task", null, search: true);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("p-100", body.RootElement.GetProperty("patientFilter").GetString());
    }

    [Fact]
    public async Task The_admin_key_grants_the_care_team_read_access_but_not_writes()
    {
        using var read = StandaloneHost.AdminRequest(HttpMethod.Get, "/api/diagnostics/smart/authorize?type=QuestionnaireResponse&interaction=r&patient=p-200");
        using var write = StandaloneHost.AdminRequest(HttpMethod.Get, "/api/diagnostics/smart/authorize?type=QuestionnaireResponse&interaction=c&patient=p-200");
        using var wrongKey = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/diagnostics/smart/authorize?type=Task&interaction=r", UriKind.Relative));
        wrongKey.Headers.Add("X-Admin-Key", "not-the-key");

        Assert.Equal(HttpStatusCode.OK, (await fixture.Host.Client.SendAsync(read)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await fixture.Host.Client.SendAsync(write)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await fixture.Host.Client.SendAsync(wrongKey)).StatusCode);
    }

    [Fact]
    public async Task Metadata_is_a_public_CapabilityStatement_with_the_SMART_security_extension_and_our_resources()
    {
        using var response = await fixture.Host.Client.GetAsync(new Uri("/api/fhir/metadata", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
        var statement = Parser.Deserialize<CapabilityStatement>(await response.Content.ReadAsStringAsync());
        Assert.Equal(FHIRVersion.N4_0_1, statement.FhirVersion);
        var rest = Assert.Single(statement.Rest);
        Assert.NotNull(rest.Security);
        Assert.Contains(rest.Security.Service, s => s.Coding.Any(c => c.System == "http://terminology.hl7.org/CodeSystem/restful-security-service" && c.Code == "SMART-on-FHIR"));
        var uris = rest.Security.GetExtension("http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris");
        Assert.NotNull(uris);
        Assert.Equal(fixture.Issuer.Issuer + "/authorize", (uris.GetExtension("authorize")?.Value as FhirUri)?.Value);
        Assert.Equal(fixture.Issuer.Issuer + "/token", (uris.GetExtension("token")?.Value as FhirUri)?.Value);
        Assert.Equal(ExpectedResources, rest.Resource.Select(r => r.Type).Order().ToArray());
    }

    [Fact]
    public async Task The_smart_configuration_names_the_primary_issuers_endpoints_and_requires_PKCE_S256()
    {
        using var response = await fixture.Host.Client.GetAsync(new Uri("/api/fhir/.well-known/smart-configuration", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = body.RootElement;
        Assert.Equal(fixture.Issuer.Issuer, root.GetProperty("issuer").GetString());
        Assert.Equal(fixture.Issuer.Issuer + "/authorize", root.GetProperty("authorization_endpoint").GetString());
        Assert.Equal(fixture.Issuer.Issuer + "/token", root.GetProperty("token_endpoint").GetString());
        Assert.Equal("S256", Assert.Single(root.GetProperty("code_challenge_methods_supported").EnumerateArray()).GetString());
        var capabilities = root.GetProperty("capabilities").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("permission-v2", capabilities);
        Assert.Contains("launch-standalone", capabilities);
        Assert.Contains("patient/QuestionnaireResponse.cru", root.GetProperty("scopes_supported").EnumerateArray().Select(e => e.GetString()));
    }

    private string Token(TestSigningKey key, string scope, string? patient) =>
        SmartTestTokens.Create(key, fixture.Issuer.Issuer, fixture.Audience, scope, patient);

    private async Task<HttpResponseMessage> ProbeAsync(string token, string type, string? interaction, string? patient = null, bool search = false)
    {
        var query = $"/api/diagnostics/smart/authorize?type={type}"
            + (interaction is null ? string.Empty : "&interaction=" + interaction)
            + (patient is null ? string.Empty : "&patient=" + Uri.EscapeDataString(patient))
            + (search ? "&search=true" : string.Empty);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(query, UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await fixture.Host.Client.SendAsync(request);
    }

    private static async Task AssertRefusedAsync(HttpResponseMessage response, HttpStatusCode status, string diagnosticsContains)
    {
        using (response)
        {
            Assert.Equal(status, response.StatusCode);
            Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
            var outcome = Parser.Deserialize<OperationOutcome>(await response.Content.ReadAsStringAsync());
            Assert.Contains(outcome.Issue, i => i.Diagnostics?.Contains(diagnosticsContains, StringComparison.OrdinalIgnoreCase) == true);
        }
    }
}
