using Engagement.Fhir;
using Engagement.Links;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Core.Tests.Links;

public sealed class StoredQuestionnaireTitlesTests
{
    private const string Canonical = "http://engagement-functions.org/fhir/Questionnaire/phq-9";
    private readonly OneQuestionnaireStore store = new();

    public StoredQuestionnaireTitlesTests()
    {
        var title = new FhirString("Patient Health Questionnaire (PHQ-9)");
        title.Extension.Add(new Extension
        {
            Url = "http://hl7.org/fhir/StructureDefinition/translation",
            Extension =
            [
                new Extension("lang", new Code("es")),
                new Extension("content", new FhirString("Cuestionario de salud del paciente (PHQ-9)")),
            ],
        });
        store.Questionnaire = new Questionnaire { Id = "phq-9", Url = Canonical, TitleElement = title };
    }

    [Theory]
    [InlineData(Canonical, "en", "Patient Health Questionnaire (PHQ-9)")]
    [InlineData(Canonical + "|1.0.0", "en", "Patient Health Questionnaire (PHQ-9)")]
    [InlineData(Canonical, "es", "Cuestionario de salud del paciente (PHQ-9)")]
    [InlineData("http://engagement-functions.org/fhir/Questionnaire/gad-7", "en", null)]
    [InlineData("http://elsewhere.example.org/fhir/Questionnaire/phq-9", "en", null)]
    [InlineData("urn:uuid:7d5c", "en", null)]
    public async Task The_title_comes_from_the_stored_questionnaire_in_the_patients_language(string canonical, string language, string? expected)
    {
        var title = await new StoredQuestionnaireTitles(store).FindTitleAsync(canonical, language, CancellationToken.None);

        Assert.Equal(expected, title);
    }

    private sealed class OneQuestionnaireStore : IFhirResourceStore
    {
        public Questionnaire? Questionnaire { get; set; }

        public Task<StoredResource?> GetAsync(string resourceType, string id, CancellationToken cancellationToken) =>
            Task.FromResult(resourceType == "Questionnaire" && id == Questionnaire?.Id ? new StoredResource(Questionnaire, "W/\"1\"", null) : null);

        public Task<StoredResource> PutAsync(Resource resource, string? patientId, CancellationToken cancellationToken, string? ifMatch = null) => throw new NotSupportedException();

        public Task<(StoredResource Stored, bool Created)> CreateIfNotExistsAsync(Resource resource, string? patientId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<StoredResource>> SearchByPatientAsync(string resourceType, string patientId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<StoredResource>> ListAsync(string resourceType, int max, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
