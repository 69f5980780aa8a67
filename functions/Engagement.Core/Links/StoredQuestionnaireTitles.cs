using Engagement.Fhir;
using Hl7.Fhir.Model;

namespace Engagement.Links;

/// <summary>
/// Titles of Questionnaires held in the FHIR resource store. A canonical <c>…/Questionnaire/{id}[|version]</c> names
/// the stored Questionnaire <c>{id}</c> (our convention: <c>url</c> = <c>{base}/Questionnaire/{id}</c>); the title in
/// the patient's language comes from the core <c>translation</c> extension on <c>title</c>, else the title itself.
/// </summary>
public sealed class StoredQuestionnaireTitles(IFhirResourceStore store) : IQuestionnaireTitles
{
    private const string TranslationExtension = "http://hl7.org/fhir/StructureDefinition/translation";

    public async ValueTask<string?> FindTitleAsync(string canonical, string language, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(canonical);
        var url = canonical.Split('|')[0];
        var marker = url.LastIndexOf("/Questionnaire/", StringComparison.Ordinal);
        var id = marker >= 0 ? url[(marker + "/Questionnaire/".Length)..] : null;
        if (string.IsNullOrEmpty(id) || id.Contains('/', StringComparison.Ordinal))
        {
            return null;
        }

        var stored = await store.GetAsync("Questionnaire", id, cancellationToken);
        if (stored?.Resource is not Questionnaire questionnaire || questionnaire.Url is { } own && own != url)
        {
            return null;
        }

        return Translate(questionnaire.TitleElement, language) ?? questionnaire.Title;
    }

    private static string? Translate(FhirString? title, string language)
    {
        if (title is null)
        {
            return null;
        }

        foreach (var translation in title.Extension.Where(e => e.Url == TranslationExtension))
        {
            var lang = (translation.GetExtension("lang")?.Value as Code)?.Value;
            var content = (translation.GetExtension("content")?.Value as FhirString)?.Value;
            if (lang is not null && content is not null &&
                (lang.Equals(language, StringComparison.OrdinalIgnoreCase) || lang.StartsWith(language + "-", StringComparison.OrdinalIgnoreCase)))
            {
                return content;
            }
        }

        return null;
    }
}
