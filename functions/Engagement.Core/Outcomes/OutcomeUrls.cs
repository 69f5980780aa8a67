namespace Engagement.Outcomes;

/// <summary>Extension and canonical URLs the questionnaire engine reads (see docs/fhir-conventions.md).</summary>
public static class OutcomeUrls
{
    public const string CanonicalBase = "http://engagement-functions.org/fhir";

    /// <summary>Red-flag rule on a Questionnaire: complex (expression, priority, code, description).</summary>
    public const string RedFlag = CanonicalBase + "/StructureDefinition/red-flag";

    /// <summary>Severity band on a score item: complex (low valueDecimal, high valueDecimal, code valueCoding).</summary>
    public const string ScoreBand = CanonicalBase + "/StructureDefinition/score-band";

    /// <summary>On a Questionnaire: valueString, the linkId a single-value reply (e.g. an SMS "7") answers.</summary>
    public const string PrimaryItem = CanonicalBase + "/StructureDefinition/primary-item";

    public const string OrdinalValue = "http://hl7.org/fhir/StructureDefinition/ordinalValue";
    public const string ItemWeight = "http://hl7.org/fhir/StructureDefinition/itemWeight";
    public const string MinValue = "http://hl7.org/fhir/StructureDefinition/minValue";
    public const string MaxValue = "http://hl7.org/fhir/StructureDefinition/maxValue";
    public const string MinLength = "http://hl7.org/fhir/StructureDefinition/minLength";
    public const string Regex = "http://hl7.org/fhir/StructureDefinition/regex";
    public const string Translation = "http://hl7.org/fhir/StructureDefinition/translation";
    public const string Variable = "http://hl7.org/fhir/StructureDefinition/variable";
    public const string CalculatedExpression = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression";
    public const string EnableWhenExpression = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-enableWhenExpression";
    public const string Loinc = "http://loinc.org";
}
