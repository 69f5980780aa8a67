using System.Net;
using System.Text;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Integration.Tests.Links;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Outcomes;

/// <summary>
/// A PHQ-9 submission with a red flag produces a QuestionnaireResponse, a total-score Observation, an urgent Task
/// and a Flag; each conforms to our profiles in fhir-profiles/.
/// </summary>
[Collection(LinkHostCollection.Name)]
public sealed class ProducedResourceConformanceTests(LinkHostFixture fixture)
{
    [Fact]
    public async Task A_red_flag_submission_produces_resources_that_conform_to_our_profiles()
    {
        var patient = "pat-" + Guid.NewGuid().ToString("N")[..8];
        var link = await LinkApi.IssueAsync(fixture.Host, patient, "task-" + Guid.NewGuid().ToString("N")[..8]);
        int[] answers = [1, 2, 0, 1, 3, 0, 1, 0, 2];
        string[] codes = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"];
        var items = string.Join(",", answers.Select((a, i) =>
            $$$"""{"linkId":"phq9-{{{i + 1}}}","answer":[{"valueCoding":{"system":"http://loinc.org","code":"{{{codes[a]}}}"}}]}"""));
        var body = $$"""{"resourceType":"QuestionnaireResponse","questionnaire":"{{LinkApi.Questionnaire}}","status":"completed","item":[{{items}}]}""";

        using var content = new StringContent(body, Encoding.UTF8, "application/fhir+json");
        using var response = await fixture.Host.Client.PostAsync(new Uri($"/api/engage/{link.Token}/response", UriKind.Relative), content);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());

        var produced = await Conformance.AssertProducedResourcesConformAsync(fixture.Host, patient, "QuestionnaireResponse", "Observation", "Task", "Flag");
        Assert.Contains(produced, r => r is Flag);
    }
}
