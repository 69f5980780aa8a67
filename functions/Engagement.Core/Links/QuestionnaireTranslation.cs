using Hl7.Fhir.Model;

namespace Engagement.Links;

/// <summary>
/// A Questionnaire in the patient's language: every text that carries the core <c>translation</c> extension for that
/// language (title, item text and prefix, answer displays, …) gets the translated content. Applied server side so the
/// renderer needs no translation support and the page shows exactly what the server would validate. Codes are never
/// translated, so a response to the translated form is a response to the original.
/// </summary>
public static class QuestionnaireTranslation
{
    public const string TranslationExtension = "http://hl7.org/fhir/StructureDefinition/translation";

    /// <summary>A translated copy; the original is not changed. Unknown languages leave the texts as they are.</summary>
    public static Questionnaire Translate(Questionnaire questionnaire, string language)
    {
        ArgumentNullException.ThrowIfNull(questionnaire);
        ArgumentException.ThrowIfNullOrEmpty(language);
        var copy = (Questionnaire)questionnaire.DeepCopy();
        if (string.Equals(copy.Language, language, StringComparison.OrdinalIgnoreCase))
        {
            return copy;
        }

        var translatedAny = false;
        Walk(copy, language, ref translatedAny);
        if (translatedAny)
        {
            copy.Language = language;
        }

        return copy;
    }

    private const string ItemControlExtension = "http://hl7.org/fhir/StructureDefinition/questionnaire-itemControl";

    /// <summary>
    /// Rendering hint for phones: choice items with a short answer list and no item control of their own get the SDC
    /// <c>radio-button</c> control, so every option is one large tap target instead of a drop-down.
    /// </summary>
    public static Questionnaire WithRadioButtons(Questionnaire questionnaire)
    {
        ArgumentNullException.ThrowIfNull(questionnaire);
        Mark(questionnaire.Item);
        return questionnaire;

        static void Mark(List<Questionnaire.ItemComponent> items)
        {
            foreach (var item in items)
            {
                if (item.Type == Questionnaire.QuestionnaireItemType.Choice && item.AnswerOption.Count is > 0 and <= 6
                    && !item.Extension.Exists(e => e.Url == ItemControlExtension))
                {
                    item.Extension.Add(new Extension(ItemControlExtension, new CodeableConcept("http://hl7.org/fhir/questionnaire-item-control", "radio-button")));
                }

                Mark(item.Item);
            }
        }
    }

    /// <summary>The content of the translation extension for <paramref name="language"/> (or a regional variant of it).</summary>
    public static string? Find(Element element, string language)
    {
        ArgumentNullException.ThrowIfNull(element);
        foreach (var translation in element.Extension.Where(e => e.Url == TranslationExtension))
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

    private static void Walk(Base node, string language, ref bool translatedAny)
    {
        if (node is FhirString or Markdown && node is PrimitiveType primitive && Find(primitive, language) is { } content)
        {
            primitive.JsonValue = content;
            translatedAny = true;
        }

        foreach (var (name, value) in node.EnumerateElements())
        {
            if (name is "extension" or "modifierExtension")
            {
                continue;
            }

            if (value is Base child)
            {
                Walk(child, language, ref translatedAny);
            }
            else if (value is IEnumerable<Base> children)
            {
                foreach (var each in children)
                {
                    Walk(each, language, ref translatedAny);
                }
            }
        }
    }
}
