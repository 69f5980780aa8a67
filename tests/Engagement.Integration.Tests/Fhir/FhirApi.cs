using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Engagement.Fhir;
using Engagement.Http;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Storage.AzureStorage;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Configuration;

namespace Engagement.Integration.Tests.Fhir;

/// <summary>Requests to <c>/api/fhir</c> and the store the host writes to (same Azurite, same tables) for seeding.</summary>
internal static class FhirApi
{
    public static IFhirResourceStore Store { get; } = new TableFhirResourceStore(
        new StorageClients(new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["AzureWebJobsStorage"] = TestEnvironment.StorageConnectionString })
            .Build()),
        TimeProvider.System);

    public static string NewId(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..12];

    public static HttpRequestMessage Get(string path) => StandaloneHost.AdminRequest(HttpMethod.Get, "/api/fhir/" + path);

    public static HttpRequestMessage Put(string path, Resource resource, string? ifMatch = null) =>
        Put(path, FhirJson.Serialize(resource), FhirJson.MediaType, ifMatch);

    public static HttpRequestMessage Put(string path, string body, string mediaType, string? ifMatch = null)
    {
        var request = StandaloneHost.AdminRequest(HttpMethod.Put, "/api/fhir/" + path);
        request.Content = new StringContent(body, Encoding.UTF8);
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(mediaType);
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        return request;
    }

    public static async Task<T> ReadAsync<T>(HttpResponseMessage response)
        where T : Resource
    {
        Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
        return JsonSerializer.Deserialize<T>(await response.Content.ReadAsStringAsync(), FhirJson.Options)!;
    }

    public static Questionnaire NewQuestionnaire(string id) => new()
    {
        Id = id,
        Url = $"http://engagement-functions.org/fhir/Questionnaire/{id}",
        Status = PublicationStatus.Active,
        Item =
        [
            new Questionnaire.ItemComponent { LinkId = "mood", Text = "How are you feeling?", Type = Questionnaire.QuestionnaireItemType.String },
            new Questionnaire.ItemComponent
            {
                LinkId = "group",
                Type = Questionnaire.QuestionnaireItemType.Group,
                Item = [new Questionnaire.ItemComponent { LinkId = "pain", Text = "Pain today?", Type = Questionnaire.QuestionnaireItemType.Boolean }],
            },
        ],
    };

    /// <summary>The shipped depression-monitoring protocol under a new id and url.</summary>
    public static PlanDefinition Protocol(string id)
    {
        var path = Path.Combine(TestEnvironment.RepoRoot, "fhir-profiles", "PlanDefinition-depression-monitoring.json");
        var plan = JsonSerializer.Deserialize<PlanDefinition>(File.ReadAllText(path), FhirJson.Options)!;
        plan.Id = id;
        plan.Url = $"http://engagement-functions.org/fhir/PlanDefinition/{id}";
        plan.Action[0].Trigger[0].Name = id + "-start";
        return plan;
    }
}
