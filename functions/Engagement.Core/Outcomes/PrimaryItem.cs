using System.Globalization;
using Hl7.Fhir.Model;
using ItemType = Hl7.Fhir.Model.Questionnaire.QuestionnaireItemType;

namespace Engagement.Outcomes;

/// <summary>
/// The item a single-value reply answers (an SMS "7"), named by the Questionnaire's primary-item extension.
/// The reply becomes a one-item QuestionnaireResponse that then goes through the engine like any other.
/// </summary>
public static class PrimaryItem
{
    /// <summary>The primary item's linkId, or null when the Questionnaire has none.</summary>
    public static string? LinkId(Questionnaire questionnaire)
    {
        ArgumentNullException.ThrowIfNull(questionnaire);
        return questionnaire.GetExtensionValue<FhirString>(OutcomeUrls.PrimaryItem)?.Value;
    }

    /// <summary>
    /// Builds the response item for a bare reply: a number for integer/decimal items, yes/no (also sí/si/y/n) for
    /// booleans, the text for string/text items. False when the Questionnaire has no primary item or the reply does
    /// not parse as its type; range checks are left to the validator.
    /// </summary>
    public static bool TryAnswer(Questionnaire questionnaire, string reply, out QuestionnaireResponse.ItemComponent? item)
    {
        ArgumentNullException.ThrowIfNull(reply);
        item = null;
        var linkId = LinkId(questionnaire);
        var definition = linkId is null ? null : CompiledQuestionnaire.For(questionnaire).ByLinkId.GetValueOrDefault(linkId);
        if (definition is null)
        {
            return false;
        }

        var text = reply.Trim();
        DataType? value = definition.Type switch
        {
            ItemType.Integer when int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i) => new Integer(i),
            ItemType.Decimal when decimal.TryParse(text, NumberStyles.Number, CultureInfo.InvariantCulture, out var d) => new FhirDecimal(d),
            ItemType.Boolean => text.ToLowerInvariant() switch
            {
                "yes" or "y" or "sí" or "si" or "s" or "1" => new FhirBoolean(true),
                "no" or "n" or "0" => new FhirBoolean(false),
                _ => null,
            },
            ItemType.String or ItemType.Text when text.Length > 0 => new FhirString(text),
            _ => null,
        };
        if (value is null)
        {
            return false;
        }

        item = new QuestionnaireResponse.ItemComponent
        {
            LinkId = definition.LinkId,
            Answer = [new QuestionnaireResponse.AnswerComponent { Value = value }],
        };
        return true;
    }
}
