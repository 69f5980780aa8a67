using Engagement.Fhir;
using Hl7.Fhir.Model;

namespace Engagement.Links;

/// <summary>
/// Titles of Questionnaires from the definitions catalog (shipped <c>fhir-profiles/</c> and those added at run time),
/// resolved by canonical (<c>url</c> or <c>url|version</c>); the title in the patient's language comes from the core
/// <c>translation</c> extension on <c>title</c>, else the title itself.
/// </summary>
public sealed class DefinitionQuestionnaireTitles(FhirDefinitions definitions) : IQuestionnaireTitles
{
    private const string TranslationExtension = "http://hl7.org/fhir/StructureDefinition/translation";

    public async ValueTask<string?> FindTitleAsync(string canonical, string language, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(canonical);
        var questionnaire = await definitions.ResolveAsync<Questionnaire>(canonical, cancellationToken);
        return questionnaire is null ? null : Translate(questionnaire.TitleElement, language) ?? questionnaire.Title;
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
