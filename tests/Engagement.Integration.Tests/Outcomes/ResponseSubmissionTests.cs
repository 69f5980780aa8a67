using System.Net;
using System.Text;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Integration.Tests.Links;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Outcomes;

/// <summary>POST /api/engage/{token}/response through the standalone host on Azurite.</summary>
[Collection(LinkHostCollection.Name)]
public sealed class ResponseSubmissionTests(LinkHostFixture fixture)
{
    private static readonly FhirJsonDeserializer Parser = new();
    private StandaloneHost Host => fixture.Host;

    private static readonly string[] Phq9Items = ["phq9-1", "phq9-2", "phq9-3", "phq9-4", "phq9-5", "phq9-6", "phq9-7", "phq9-8", "phq9-9"];
    private static readonly string[] Answers = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"];

    private static string Phq9(int[] answers, string? subject = null, string? questionnaire = null)
    {
        var items = string.Join(",", Phq9Items.Select((linkId, i) =>
            $$$"""{"linkId":"{{{linkId}}}","answer":[{"valueCoding":{"system":"http://loinc.org","code":"{{{Answers[answers[i]]}}}"}}]}"""));
        var subjectJson = subject is null ? "" : $$""","subject":{"reference":"{{subject}}"}""";
        return $$"""{"resourceType":"QuestionnaireResponse","questionnaire":"{{questionnaire ?? LinkApi.Questionnaire}}","status":"completed"{{subjectJson}},"item":[{{items}}]}""";
    }

    private async Task<(HttpStatusCode Status, string Body)> SubmitAsync(string token, string body, string mediaType = "application/fhir+json")
    {
        using var content = new StringContent(body, Encoding.UTF8, mediaType);
        using var response = await Host.Client.PostAsync(new Uri($"/api/engage/{token}/response", UriKind.Relative), content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }


    [Fact]
    public async Task A_PHQ9_response_is_validated_scored_stored_once_and_the_link_is_then_used()
    {
        var patient = "pat-" + Guid.NewGuid().ToString("N")[..8];
        var link = await LinkApi.IssueAsync(Host, patient, "task-" + Guid.NewGuid().ToString("N")[..8]);

        var (status, body) = await SubmitAsync(link.Token, Phq9([1, 1, 1, 1, 1, 1, 1, 1, 0]));

        Assert.True(status == HttpStatusCode.Created, body);
        var result = Parser.Deserialize<Parameters>(body)!;
        Assert.Equal(8m, ((FhirDecimal)result.GetSingle("totalScore")!.Value!).Value);
        Assert.Equal(0, ((Integer)result.GetSingle("redFlags")!.Value!).Value);
        var stored = (QuestionnaireResponse)result.GetSingle("response")!.Resource!;
        Assert.Equal("Patient/" + patient, stored.Subject!.Reference);

        using var search = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/fhir/QuestionnaireResponse?patient={patient}");
        using var found = await Host.Client.SendAsync(search);
        var bundle = Parser.Deserialize<Bundle>(await found.Content.ReadAsStringAsync())!;
        Assert.Equal(1, bundle.Total);

        using var observations = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/fhir/Observation?patient={patient}");
        var obs = Parser.Deserialize<Bundle>(await (await Host.Client.SendAsync(observations)).Content.ReadAsStringAsync())!;
        var total = (Observation)Assert.Single(obs.Entry).Resource!;
        Assert.Equal("44261-6", total.Code.Coding[0].Code);
        Assert.Equal(8m, ((Quantity)total.Value!).Value);

        var (again, _) = await SubmitAsync(link.Token, Phq9([0, 0, 0, 0, 0, 0, 0, 0, 0]));
        Assert.Equal(HttpStatusCode.Gone, again);
    }

    [Fact]
    public async Task Item_9_above_zero_raises_an_urgent_red_flag_task_and_flag()
    {
        var patient = "pat-" + Guid.NewGuid().ToString("N")[..8];
        var link = await LinkApi.IssueAsync(Host, patient, "task-" + Guid.NewGuid().ToString("N")[..8]);

        var (status, body) = await SubmitAsync(link.Token, Phq9([0, 0, 0, 0, 0, 0, 0, 0, 2]));

        Assert.True(status == HttpStatusCode.Created, body);
        using var tasks = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/fhir/Task?patient={patient}");
        var bundle = Parser.Deserialize<Bundle>(await (await Host.Client.SendAsync(tasks)).Content.ReadAsStringAsync())!;
        var redFlag = bundle.Entry.Select(e => (Hl7.Fhir.Model.Task)e.Resource!).Single(t => t.Code!.Coding[0].Code == "review-red-flag");
        Assert.Equal(RequestPriority.Urgent, redFlag.Priority);
        using var flags = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/fhir/Flag?patient={patient}");
        var flagBundle = Parser.Deserialize<Bundle>(await (await Host.Client.SendAsync(flags)).Content.ReadAsStringAsync())!;
        Assert.NotEmpty(flagBundle.Entry);
    }

    [Fact]
    public async Task An_invalid_response_is_422_with_an_issue_per_problem_and_nothing_is_stored()
    {
        var patient = "pat-" + Guid.NewGuid().ToString("N")[..8];
        var link = await LinkApi.IssueAsync(Host, patient, "task-" + Guid.NewGuid().ToString("N")[..8]);
        var missingItems = """{"resourceType":"QuestionnaireResponse","status":"completed","item":[{"linkId":"/no-such-item","answer":[{"valueString":"x"}]}]}""";

        var (status, body) = await SubmitAsync(link.Token, missingItems);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
        var outcome = Parser.Deserialize<OperationOutcome>(body)!;
        Assert.True(outcome.Issue.Count >= 2, body);
        Assert.All(outcome.Issue, i => Assert.NotEmpty(i.Expression));
        using var search = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/fhir/QuestionnaireResponse?patient={patient}");
        Assert.Equal(0, Parser.Deserialize<Bundle>(await (await Host.Client.SendAsync(search)).Content.ReadAsStringAsync())!.Total);
        var (retry, _) = await SubmitAsync(link.Token, Phq9([0, 0, 0, 0, 0, 0, 0, 0, 0]));
        Assert.Equal(HttpStatusCode.Created, retry);
    }

    [Fact]
    public async Task A_response_about_another_patient_is_403_and_for_another_questionnaire_is_422()
    {
        var link = await LinkApi.IssueAsync(Host, "pat-" + Guid.NewGuid().ToString("N")[..8], "task-" + Guid.NewGuid().ToString("N")[..8]);

        var (other, _) = await SubmitAsync(link.Token, Phq9([0, 0, 0, 0, 0, 0, 0, 0, 0], subject: "Patient/someone-else"));
        var (wrongQuestionnaire, _) = await SubmitAsync(link.Token, Phq9([0, 0, 0, 0, 0, 0, 0, 0, 0], questionnaire: "http://engagement-functions.org/fhir/Questionnaire/gad-7"));

        Assert.Equal(HttpStatusCode.Forbidden, other);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, wrongQuestionnaire);
    }

    [Theory]
    [InlineData("{ not json", "application/fhir+json", HttpStatusCode.BadRequest)]
    [InlineData("{}", "text/plain", HttpStatusCode.UnsupportedMediaType)]
    [InlineData("""{"resourceType":"Patient"}""", "application/json", HttpStatusCode.BadRequest)]
    public async Task Bad_bodies_get_a_clear_4xx(string body, string mediaType, HttpStatusCode expected)
    {
        var link = await LinkApi.IssueAsync(Host, "pat-" + Guid.NewGuid().ToString("N")[..8], "task-" + Guid.NewGuid().ToString("N")[..8]);
        var (status, text) = await SubmitAsync(link.Token, body, mediaType);
        Assert.Equal(expected, status);
        Assert.Contains("OperationOutcome", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Forged_and_revoked_links_cannot_submit()
    {
        var link = await LinkApi.IssueAsync(Host, "pat-" + Guid.NewGuid().ToString("N")[..8], "task-" + Guid.NewGuid().ToString("N")[..8]);
        var (forged, _) = await SubmitAsync(link.Token[..^2] + "xx", Phq9([0, 0, 0, 0, 0, 0, 0, 0, 0]));
        await LinkApi.RevokeAsync(Host, link.LinkId);
        var (revoked, _) = await SubmitAsync(link.Token, Phq9([0, 0, 0, 0, 0, 0, 0, 0, 0]));

        Assert.Equal(HttpStatusCode.Unauthorized, forged);
        Assert.Equal(HttpStatusCode.Gone, revoked);
    }
}
