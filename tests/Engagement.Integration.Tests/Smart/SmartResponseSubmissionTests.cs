using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Engagement.Http;
using Engagement.Integration.Tests.Fhir;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Testing.Smart;
using Hl7.Fhir.Model;
using FhirTask = Hl7.Fhir.Model.Task;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Smart;

/// <summary><c>POST /api/fhir/QuestionnaireResponse</c> from a SMART patient app, through the standalone host.</summary>
[Collection(SmartCollection.Name)]
public sealed class SmartResponseSubmissionTests(SmartFixture fixture)
{
    private const string Phq9 = "http://engagement-functions.org/fhir/Questionnaire/phq-9";
    private const string Gad7 = "http://engagement-functions.org/fhir/Questionnaire/gad-7";
    private const string AppScopes = "launch/patient openid fhirUser patient/QuestionnaireResponse.cru patient/Questionnaire.rs patient/Task.rs";
    private static readonly string[] Phq9Items = ["phq9-1", "phq9-2", "phq9-3", "phq9-4", "phq9-5", "phq9-6", "phq9-7", "phq9-8", "phq9-9"];
    private static readonly string[] Answers = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"];

    private HttpClient Client => fixture.Host.Client;

    [Fact]
    public async Task A_patient_app_response_is_scored_stored_once_completes_its_task_and_a_retry_returns_the_same_resource()
    {
        var patient = FhirApi.NewId("pat");
        var task = await SeedTaskAsync(patient, Phq9);
        var body = Response(patient, [1, 1, 1, 1, 1, 1, 1, 1, 0], task.Id, identifier: FhirApi.NewId("app-submission"));
        var token = Token(AppScopes, patient);

        using var first = await PostAsync(body, token);
        using var retry = await PostAsync(body, token);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var stored = await FhirApi.ReadAsync<QuestionnaireResponse>(first);
        Assert.Equal($"{fixture.Host.BaseAddress.ToString().TrimEnd('/')}/api/fhir/QuestionnaireResponse/{stored.Id}", first.Headers.Location?.ToString());
        Assert.Equal("Patient/" + patient, stored.Subject!.Reference);
        Assert.Equal("Task/" + task.Id, Assert.Single(stored.BasedOn).Reference);
        Assert.NotEmpty(Assert.Single(stored.Item, i => i.LinkId == "phq9-total").Answer);

        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.Equal(stored.Id, (await FhirApi.ReadAsync<QuestionnaireResponse>(retry)).Id);

        // Read back through the facade with the same token: one response, the Task completed, the score Observation.
        var responses = await SearchAsync("QuestionnaireResponse", patient);
        Assert.Equal(stored.Id, Assert.Single(responses.Entry).Resource!.Id);
        using var taskRead = await SendAsync(HttpMethod.Get, $"Task/{task.Id}", token);
        var completed = await FhirApi.ReadAsync<FhirTask>(taskRead);
        Assert.Equal(FhirTask.TaskStatus.Completed, completed.Status);
        Assert.Contains(completed.Output, o => (o.Value as ResourceReference)?.Reference == "QuestionnaireResponse/" + stored.Id);
        var observation = (Observation)Assert.Single((await SearchAsync("Observation", patient)).Entry).Resource!;
        Assert.Equal("44261-6", observation.Code.Coding[0].Code);
        Assert.Equal(8m, ((Quantity)observation.Value!).Value);
        Assert.Equal("QuestionnaireResponse/" + stored.Id, Assert.Single(observation.DerivedFrom).Reference);
    }

    [Fact]
    public async Task A_second_response_for_an_answered_task_is_409_and_not_stored()
    {
        var patient = FhirApi.NewId("pat");
        var task = await SeedTaskAsync(patient, Phq9);
        var token = Token(AppScopes, patient);
        using var first = await PostAsync(Response(patient, [0, 0, 0, 0, 0, 0, 0, 0, 0], task.Id, identifier: FhirApi.NewId("a")), token);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);

        using var second = await PostAsync(Response(patient, [1, 1, 1, 1, 1, 1, 1, 1, 1], task.Id, identifier: FhirApi.NewId("b")), token);

        await AssertOutcomeAsync(second, HttpStatusCode.Conflict);
        Assert.Single((await SearchAsync("QuestionnaireResponse", patient)).Entry);
    }

    public static TheoryData<string, HttpStatusCode> BadSubmissions() => new()
    {
        { "other-patient-subject", HttpStatusCode.Forbidden },
        { "no-subject", HttpStatusCode.UnprocessableEntity },
        { "unknown-questionnaire", HttpStatusCode.UnprocessableEntity },
        { "other-patients-task", HttpStatusCode.UnprocessableEntity },
        { "unknown-task", HttpStatusCode.UnprocessableEntity },
        { "task-for-another-questionnaire", HttpStatusCode.UnprocessableEntity },
        { "invalid-answer", HttpStatusCode.UnprocessableEntity },
        { "not-json", HttpStatusCode.BadRequest },
        { "not-a-response", HttpStatusCode.BadRequest },
        { "oversized", HttpStatusCode.RequestEntityTooLarge },
        { "read-only-scope", HttpStatusCode.Forbidden },
        { "no-token", HttpStatusCode.Unauthorized },
    };

    [Theory]
    [MemberData(nameof(BadSubmissions))]
    public async Task Bad_submissions_are_refused_with_an_OperationOutcome_and_nothing_is_stored(string kind, HttpStatusCode expected)
    {
        var (patient, other) = (FhirApi.NewId("pat"), FhirApi.NewId("pat"));
        var ownTask = await SeedTaskAsync(patient, Phq9);
        var otherTask = await SeedTaskAsync(other, Phq9);
        var gadTask = await SeedTaskAsync(patient, Gad7);
        var answers = new[] { 1, 1, 1, 1, 1, 1, 1, 1, 0 };
        var token = Token(AppScopes, patient);
        var body = kind switch
        {
            "other-patient-subject" => Response(other, answers, null),
            "no-subject" => Response(null, answers, ownTask.Id),
            "unknown-questionnaire" => Response(patient, answers, null, questionnaire: "http://example.org/Questionnaire/unknown"),
            "other-patients-task" => Response(patient, answers, otherTask.Id),
            "unknown-task" => Response(patient, answers, FhirApi.NewId("task")),
            "task-for-another-questionnaire" => Response(patient, answers, gadTask.Id),
            "invalid-answer" => Response(patient, [1, 1, 1, 1, 1, 1, 1, 1, 0], ownTask.Id).Replace("LA6568-5", "not-an-answer", StringComparison.Ordinal).Replace("LA6569-3", "not-an-answer", StringComparison.Ordinal),
            "not-json" => "{\"resourceType\":\"QuestionnaireResponse\",",
            "not-a-response" => FhirJson.Serialize(new Patient { Id = patient }),
            "oversized" => Response(patient, answers, ownTask.Id).Replace("\"status\":\"completed\"", "\"status\":\"completed\",\"text\":{\"status\":\"generated\",\"div\":\"<div xmlns=\\\"http://www.w3.org/1999/xhtml\\\">" + new string('x', 1_100_000) + "</div>\"}", StringComparison.Ordinal),
            _ => Response(patient, answers, ownTask.Id),
        };
        token = kind switch
        {
            "read-only-scope" => Token("launch/patient patient/QuestionnaireResponse.rs patient/Questionnaire.rs", patient),
            "no-token" => string.Empty,
            _ => token,
        };

        using var response = await PostAsync(body, token);

        await AssertOutcomeAsync(response, expected);
        Assert.Empty((await SearchAsync("QuestionnaireResponse", patient)).Entry);
        Assert.Empty((await SearchAsync("QuestionnaireResponse", other)).Entry);
        Assert.Empty((await SearchAsync("Observation", patient)).Entry);
        Assert.Empty((await SearchAsync("Observation", other)).Entry);
        using var taskRead = await Client.SendAsync(FhirApi.Get($"Task/{ownTask.Id}"));
        Assert.Equal(FhirTask.TaskStatus.Ready, (await FhirApi.ReadAsync<FhirTask>(taskRead)).Status);
    }

    [Fact]
    public async Task The_care_team_can_submit_with_the_admin_key()
    {
        var patient = FhirApi.NewId("pat");
        using var request = StandaloneHost.AdminRequest(HttpMethod.Post, "/api/fhir/QuestionnaireResponse");
        request.Content = new StringContent(Response(patient, [0, 0, 0, 0, 0, 0, 0, 0, 0], null, identifier: FhirApi.NewId("paper")), Encoding.UTF8, FhirJson.MediaType);

        using var response = await Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Single((await SearchAsync("QuestionnaireResponse", patient)).Entry);
    }

    private static string Response(string? patient, int[] answers, string? taskId, string questionnaire = Phq9, string? identifier = null)
    {
        var items = string.Join(",", Phq9Items.Select((linkId, i) =>
            $$$"""{"linkId":"{{{linkId}}}","answer":[{"valueCoding":{"system":"http://loinc.org","code":"{{{Answers[answers[i]]}}}"}}]}"""));
        var subject = patient is null ? string.Empty : $$""","subject":{"reference":"Patient/{{patient}}"}""";
        var basedOn = taskId is null ? string.Empty : $$""","basedOn":[{"reference":"Task/{{taskId}}"}]""";
        var id = identifier is null ? string.Empty : $$""","identifier":{"system":"urn:example:app","value":"{{identifier}}"}""";
        return $$"""{"resourceType":"QuestionnaireResponse","questionnaire":"{{questionnaire}}","status":"completed"{{subject}}{{basedOn}}{{id}},"item":[{{items}}]}""";
    }

    private static async Task<FhirTask> SeedTaskAsync(string patientId, string questionnaire)
    {
        var task = new FhirTask
        {
            Id = FhirApi.NewId("task"),
            Status = FhirTask.TaskStatus.Ready,
            Intent = FhirTask.TaskIntent.Plan,
            For = new ResourceReference($"Patient/{patientId}"),
            Focus = new ResourceReference(questionnaire),
            Input =
            [
                new FhirTask.ParameterComponent
                {
                    Type = new CodeableConcept("http://engagement-functions.org/fhir/CodeSystem/engagement-task-code", "questionnaire"),
                    Value = new Canonical(questionnaire),
                },
            ],
        };
        await FhirApi.Store.PutAsync(task, patientId, CancellationToken.None);
        return task;
    }

    private string Token(string scope, string? patient) =>
        SmartTestTokens.Create(fixture.Rsa, fixture.Issuer.Issuer, fixture.Audience, scope, patient);

    private async Task<HttpResponseMessage> PostAsync(string body, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/api/fhir/QuestionnaireResponse", UriKind.Relative))
        {
            Content = new StringContent(body, Encoding.UTF8, FhirJson.MediaType),
        };
        if (token.Length > 0)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await Client.SendAsync(request);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string token)
    {
        using var request = new HttpRequestMessage(method, new Uri("/api/fhir/" + path, UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await Client.SendAsync(request);
    }

    private async Task<Bundle> SearchAsync(string type, string patient)
    {
        using var response = await Client.SendAsync(FhirApi.Get($"{type}?patient={patient}"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await FhirApi.ReadAsync<Bundle>(response);
    }

    private static async Task AssertOutcomeAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{response.StatusCode}: {body}");
        Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
        Assert.NotEmpty(JsonSerializer.Deserialize<OperationOutcome>(body, FhirJson.Options)!.Issue);
    }
}
