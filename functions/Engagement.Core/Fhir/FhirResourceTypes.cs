namespace Engagement.Fhir;

/// <summary>The resource types the facade serves, and how each is found.</summary>
public static class FhirResourceTypes
{
    /// <summary>Conformance resources held by <see cref="FhirDefinitions"/> (shipped and added at run time); readable by id.</summary>
    public static readonly IReadOnlySet<string> Definitions = new HashSet<string>(StringComparer.Ordinal)
    {
        "Questionnaire", "PlanDefinition", "ActivityDefinition", "ValueSet", "CodeSystem", "Measure", "StructureDefinition",
    };

    /// <summary>Definitions an admin may add or replace with <c>PUT</c>.</summary>
    public static readonly IReadOnlySet<string> Writable = new HashSet<string>(StringComparer.Ordinal)
    {
        "Questionnaire", "PlanDefinition", "ValueSet",
    };

    /// <summary>
    /// Patient-compartment resources the engine writes to <see cref="IFhirResourceStore"/> with their patient; searches
    /// on these need a patient. Value: whether the type has the <c>subject</c> search parameter (Consent has only <c>patient</c>).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, bool> PatientCompartment = new Dictionary<string, bool>(StringComparer.Ordinal)
    {
        ["Task"] = true,
        ["CarePlan"] = true,
        ["Communication"] = true,
        ["QuestionnaireResponse"] = true,
        ["Observation"] = true,
        ["Flag"] = true,
        ["Consent"] = false,
    };

    public static bool IsServed(string resourceType) =>
        Definitions.Contains(resourceType) || PatientCompartment.ContainsKey(resourceType);
}
