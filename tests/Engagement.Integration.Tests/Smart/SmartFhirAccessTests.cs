using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Engagement.Http;
using Engagement.Integration.Tests.Fhir;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Testing.Smart;
using Hl7.Fhir.Model;
using FhirTask = Hl7.Fhir.Model.Task;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Smart;

/// <summary>
/// <c>/api/fhir</c> with SMART bearer tokens from the in-test issuer, through the standalone host: the scopes per type
/// and interaction, the patient compartment, definitions, admin-only writes, and every kind of refused token.
/// </summary>
[Collection(SmartCollection.Name)]
public sealed class SmartFhirAccessTests(SmartFixture fixture)
{
    private const string PatientScopes = "launch/patient openid fhirUser patient/QuestionnaireResponse.cru patient/Questionnaire.rs patient/Task.rs";
    private const string GenericUnauthorized = "This route requires a valid SMART on FHIR bearer access token.";

    private HttpClient Client => fixture.Host.Client;

    [Fact]
    public async Task A_patient_reads_their_own_task_but_gets_403_for_another_patients_and_for_an_unknown_id()
    {
        var (me, other) = (FhirApi.NewId("pat"), FhirApi.NewId("pat"));
        var mine = await SeedTaskAsync(me, FhirTask.TaskStatus.Ready);
        var theirs = await SeedTaskAsync(other, FhirTask.TaskStatus.Ready);
        var token = Token(PatientScopes, me);

        using var own = await SendAsync(HttpMethod.Get, $"Task/{mine.Id}", token);
        using var foreign = await SendAsync(HttpMethod.Get, $"Task/{theirs.Id}", token);
        using var unknown = await SendAsync(HttpMethod.Get, $"Task/{FhirApi.NewId("task")}", token);

        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.Equal(mine.Id, (await FhirApi.ReadAsync<FhirTask>(own)).Id);
        await AssertOutcomeAsync(foreign, HttpStatusCode.Forbidden);
        await AssertOutcomeAsync(unknown, HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task A_patients_ready_task_search_returns_only_their_ready_tasks()
    {
        var (me, other) = (FhirApi.NewId("pat"), FhirApi.NewId("pat"));
        var ready = await SeedTaskAsync(me, FhirTask.TaskStatus.Ready);
        await SeedTaskAsync(me, FhirTask.TaskStatus.Completed);
        await SeedTaskAsync(other, FhirTask.TaskStatus.Ready);

        using var response = await SendAsync(HttpMethod.Get, $"Task?patient={me}&status=ready", Token(PatientScopes, me));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var bundle = await FhirApi.ReadAsync<Bundle>(response);
        Assert.Equal(ready.Id, Assert.Single(bundle.Entry).Resource!.Id);
        Assert.Equal(1, bundle.Total);
    }

    [Theory]
    [InlineData("Task?patient={other}")]
    [InlineData("Task?patient=Patient/{other}&status=ready")]
    [InlineData("Task?subject=Patient/{other}")]
    [InlineData("QuestionnaireResponse?patient={other}")]
    public async Task A_patients_search_for_another_patient_is_403_and_returns_nothing(string query)
    {
        var (me, other) = (FhirApi.NewId("pat"), FhirApi.NewId("pat"));
        var theirs = await SeedTaskAsync(other, FhirTask.TaskStatus.Ready);

        using var response = await SendAsync(HttpMethod.Get, query.Replace("{other}", other, StringComparison.Ordinal), Token(PatientScopes, me));

        var body = await AssertOutcomeAsync(response, HttpStatusCode.Forbidden);
        Assert.DoesNotContain(theirs.Id!, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_patients_search_without_a_patient_is_refused_with_400()
    {
        var me = FhirApi.NewId("pat");
        await SeedTaskAsync(me, FhirTask.TaskStatus.Ready);

        using var response = await SendAsync(HttpMethod.Get, "Task?status=ready", Token(PatientScopes, me));

        var body = await AssertOutcomeAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("needs a patient", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("patient/Task.read", "read", HttpStatusCode.OK)]
    [InlineData("patient/Task.read", "search", HttpStatusCode.OK)]
    [InlineData("patient/Task.*", "search", HttpStatusCode.OK)]
    [InlineData("patient/Task.r", "read", HttpStatusCode.OK)]
    [InlineData("patient/Task.r", "search", HttpStatusCode.Forbidden)]
    [InlineData("patient/Task.s", "read", HttpStatusCode.Forbidden)]
    [InlineData("patient/Task.s", "search", HttpStatusCode.OK)]
    [InlineData("patient/Task.write", "read", HttpStatusCode.Forbidden)]
    [InlineData("patient/Task.c", "search", HttpStatusCode.Forbidden)]
    [InlineData("patient/*.rs", "read", HttpStatusCode.OK)]
    [InlineData("patient/QuestionnaireResponse.rs", "search", HttpStatusCode.Forbidden)]
    public async Task SMART_v1_and_v2_scopes_decide_read_and_search(string scope, string interaction, HttpStatusCode expected)
    {
        var me = FhirApi.NewId("pat");
        var task = await SeedTaskAsync(me, FhirTask.TaskStatus.Ready);
        var path = interaction == "read" ? $"Task/{task.Id}" : $"Task?patient={me}";

        using var response = await SendAsync(HttpMethod.Get, path, Token(scope, me));

        Assert.Equal(expected, response.StatusCode);
    }

    [Theory]
    [InlineData("patient/Questionnaire.rs")]
    [InlineData("patient/Questionnaire.read")]
    [InlineData("user/Questionnaire.r")]
    public async Task Definitions_are_readable_with_a_scope_for_their_type(string scope)
    {
        using var read = await SendAsync(HttpMethod.Get, "Questionnaire/phq-9", Token(scope, FhirApi.NewId("pat")));

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal("phq-9", (await FhirApi.ReadAsync<Questionnaire>(read)).Id);
    }

    [Fact]
    public async Task Definitions_without_a_scope_for_their_type_are_403()
    {
        using var response = await SendAsync(HttpMethod.Get, "Questionnaire/phq-9", Token("patient/Task.rs", FhirApi.NewId("pat")));

        await AssertOutcomeAsync(response, HttpStatusCode.Forbidden);
    }

    [Theory]
    [InlineData("patient/*.*")]
    [InlineData("user/Questionnaire.cruds")]
    [InlineData("system/*.write")]
    public async Task Writing_definitions_stays_admin_only_whatever_the_token_says(string scope)
    {
        var id = FhirApi.NewId("q");
        using var request = new HttpRequestMessage(HttpMethod.Put, new Uri("/api/fhir/Questionnaire/" + id, UriKind.Relative))
        {
            Content = new StringContent(FhirJson.Serialize(FhirApi.NewQuestionnaire(id)), Encoding.UTF8, FhirJson.MediaType),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token(scope, scope.StartsWith("patient", StringComparison.Ordinal) ? FhirApi.NewId("pat") : null));

        using var response = await Client.SendAsync(request);

        await AssertOutcomeAsync(response, HttpStatusCode.Forbidden);
        using var check = await Client.SendAsync(FhirApi.Get("Questionnaire/" + id));
        Assert.Equal(HttpStatusCode.NotFound, check.StatusCode);
    }

    [Fact]
    public async Task The_admin_key_still_reads_every_patient_and_a_wrong_key_is_401()
    {
        var patient = FhirApi.NewId("pat");
        var task = await SeedTaskAsync(patient, FhirTask.TaskStatus.Ready);
        using var wrongKey = new HttpRequestMessage(HttpMethod.Get, new Uri($"/api/fhir/Task/{task.Id}", UriKind.Relative));
        wrongKey.Headers.Add("X-Admin-Key", "not-the-key");

        using var read = await Client.SendAsync(FhirApi.Get($"Task/{task.Id}"));
        using var refused = await Client.SendAsync(wrongKey);

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        await AssertOutcomeAsync(refused, HttpStatusCode.Unauthorized);
    }

    public static TheoryData<string> InvalidTokens() => ["none", "expired", "not-yet-valid", "other-audience", "other-issuer", "unknown-key", "alg-none", "hs256-public-key", "garbage"];

    [Theory]
    [MemberData(nameof(InvalidTokens))]
    public async Task Invalid_tokens_are_401_with_a_bearer_challenge_and_no_detail_in_the_body(string kind)
    {
        var me = FhirApi.NewId("pat");
        var task = await SeedTaskAsync(me, FhirTask.TaskStatus.Ready);
        var token = InvalidToken(kind, me);

        using var response = await SendAsync(HttpMethod.Get, $"Task/{task.Id}", token);

        var body = await AssertOutcomeAsync(response, HttpStatusCode.Unauthorized);
        Assert.Contains(response.Headers.WwwAuthenticate, h => h.Scheme == "Bearer");
        var outcome = System.Text.Json.JsonSerializer.Deserialize<OperationOutcome>(body, FhirJson.Options)!;
        Assert.Equal(GenericUnauthorized, Assert.Single(outcome.Issue).Diagnostics);
        Assert.DoesNotContain(task.Id!, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_valid_token_for_another_patient_or_without_the_scope_is_403_without_the_resource()
    {
        var me = FhirApi.NewId("pat");
        var task = await SeedTaskAsync(me, FhirTask.TaskStatus.Ready);

        using var otherPatient = await SendAsync(HttpMethod.Get, $"Task/{task.Id}", Token(PatientScopes, FhirApi.NewId("pat")));
        using var noScope = await SendAsync(HttpMethod.Get, $"Task/{task.Id}", Token("launch/patient openid patient/Questionnaire.rs", me));
        using var patientScopeWithoutPatient = await SendAsync(HttpMethod.Get, $"Task/{task.Id}", Token(PatientScopes, null));

        foreach (var response in new[] { otherPatient, noScope, patientScopeWithoutPatient })
        {
            Assert.DoesNotContain(task.Id!, await AssertOutcomeAsync(response, HttpStatusCode.Forbidden), StringComparison.Ordinal);
        }
    }

    private string InvalidToken(string kind, string patient)
    {
        var now = DateTimeOffset.UtcNow;
        return kind switch
        {
            "none" => string.Empty,
            "expired" => SmartTestTokens.Create(fixture.Rsa, fixture.Issuer.Issuer, fixture.Audience, PatientScopes, patient, notBefore: now.AddHours(-2), expires: now.AddHours(-1)),
            "not-yet-valid" => SmartTestTokens.Create(fixture.Rsa, fixture.Issuer.Issuer, fixture.Audience, PatientScopes, patient, notBefore: now.AddMinutes(10), expires: now.AddMinutes(20)),
            "other-audience" => SmartTestTokens.Create(fixture.Rsa, fixture.Issuer.Issuer, "https://other.example.org/fhir", PatientScopes, patient),
            "other-issuer" => SmartTestTokens.Create(fixture.Rsa, "http://127.0.0.1:1/other-issuer", fixture.Audience, PatientScopes, patient),
            "unknown-key" => SmartTestTokens.Create(TestSigningKey.Rsa256("never-published"), fixture.Issuer.Issuer, fixture.Audience, PatientScopes, patient),
            "alg-none" => SmartTestTokens.AlgNone(fixture.Issuer.Issuer, fixture.Audience, PatientScopes, patient),
            "hs256-public-key" => SmartTestTokens.Hs256WithPublicKey(fixture.Rsa, fixture.Issuer.Issuer, fixture.Audience, PatientScopes, patient),
            _ => "not.a.jwt",
        };
    }

    private string Token(string scope, string? patient) =>
        SmartTestTokens.Create(fixture.Rsa, fixture.Issuer.Issuer, fixture.Audience, scope, patient);

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string token)
    {
        using var request = new HttpRequestMessage(method, new Uri("/api/fhir/" + path, UriKind.Relative));
        if (token.Length > 0)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await Client.SendAsync(request);
    }

    private static async Task<FhirTask> SeedTaskAsync(string patientId, FhirTask.TaskStatus status)
    {
        var task = new FhirTask
        {
            Id = FhirApi.NewId("task"),
            Status = status,
            Intent = FhirTask.TaskIntent.Order,
            For = new ResourceReference($"Patient/{patientId}"),
        };
        await FhirApi.Store.PutAsync(task, patientId, CancellationToken.None);
        return task;
    }

    private static async Task<string> AssertOutcomeAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        Assert.NotEmpty(System.Text.Json.JsonSerializer.Deserialize<OperationOutcome>(body, FhirJson.Options)!.Issue);
        return body;
    }
}
