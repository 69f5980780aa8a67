using Engagement.Fhir;
using Engagement.Links;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Logging.Abstractions;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Core.Tests.Links;

public sealed class DefinitionQuestionnaireTitlesTests
{
    private const string Canonical = "http://engagement-functions.org/fhir/Questionnaire/phq-9";
    private readonly EmptyStore store = new();

    public DefinitionQuestionnaireTitlesTests()
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
        var questionnaire = new Questionnaire { Id = "phq-9", Url = Canonical, Status = PublicationStatus.Active, TitleElement = title };
        Directory.CreateDirectory(profiles);
        File.WriteAllText(Path.Combine(profiles, "Questionnaire-phq-9.json"), Engagement.Http.FhirJson.Serialize(questionnaire));
    }

    private readonly string profiles = Path.Combine(Path.GetTempPath(), "titles-" + Guid.NewGuid().ToString("N"));

    [Theory]
    [InlineData(Canonical, "en", "Patient Health Questionnaire (PHQ-9)")]
    [InlineData(Canonical, "es", "Cuestionario de salud del paciente (PHQ-9)")]
    [InlineData("http://engagement-functions.org/fhir/Questionnaire/gad-7", "en", null)]
    [InlineData("http://elsewhere.example.org/fhir/Questionnaire/phq-9", "en", null)]
    [InlineData("urn:uuid:7d5c", "en", null)]
    public async Task The_title_comes_from_the_stored_questionnaire_in_the_patients_language(string canonical, string language, string? expected)
    {
        using var definitions = new FhirDefinitions(store, TimeProvider.System, NullLogger<FhirDefinitions>.Instance, profiles);
        var title = await new DefinitionQuestionnaireTitles(definitions).FindTitleAsync(canonical, language, CancellationToken.None);

        Assert.Equal(expected, title);
    }

    /// <summary>Nothing stored: the title comes from the shipped file.</summary>
    private sealed class EmptyStore : IFhirResourceStore
    {
        public Task<StoredResource?> GetAsync(string resourceType, string id, CancellationToken cancellationToken) => Task.FromResult<StoredResource?>(null);

        public Task<StoredResource> PutAsync(Resource resource, string? patientId, CancellationToken cancellationToken, string? ifMatch = null) => throw new NotSupportedException();

        public Task<(StoredResource Stored, bool Created)> CreateIfNotExistsAsync(Resource resource, string? patientId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<StoredResource>> SearchByPatientAsync(string resourceType, string patientId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<IReadOnlyList<StoredResource>> ListAsync(string resourceType, int max, CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<StoredResource>>([]);
    }
}
