using Hl7.Fhir.Model;
using Hl7.Fhir.Utility;
using Microsoft.AspNetCore.Http;

namespace Engagement.Fhir;

/// <summary>
/// The search parameters the facade understands, parsed from a query. Patient-compartment types: <c>patient</c>
/// (<c>{id}</c> or <c>Patient/{id}</c>), <c>subject</c> (<c>Patient/{id}</c>; not on Consent) and <c>status</c>
/// (comma = or). Definition types: <c>url</c> (<c>url|version</c> too) and <c>_id</c>. Everywhere: <c>_format</c>
/// with a JSON value. Anything else is an error naming it, unless the caller sent <c>Prefer: handling=lenient</c>
/// (then it is ignored and left out of the self link), as FHIR's search rules say.
/// </summary>
public sealed class FhirSearchParameters
{
    private FhirSearchParameters()
    {
    }

    public string? PatientId { get; private set; }

    /// <summary>Each entry is one occurrence of <c>status</c>: any of its values matches; all occurrences must match.</summary>
    public List<string[]> Statuses { get; } = [];

    public List<string> Urls { get; } = [];

    public List<string[]> Ids { get; } = [];

    /// <summary>The parameters applied, as name=value pairs, for the Bundle's self link.</summary>
    public List<KeyValuePair<string, string>> Applied { get; } = [];

    /// <summary>Parses the query for <paramref name="resourceType"/>; the error message names the offending parameter.</summary>
    public static (FhirSearchParameters? Parameters, string? Error) Parse(string resourceType, IQueryCollection query, bool lenient)
    {
        ArgumentNullException.ThrowIfNull(query);
        var result = new FhirSearchParameters();
        var compartment = FhirResourceTypes.PatientCompartment.TryGetValue(resourceType, out var hasSubject);
        var patients = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, values) in query)
        {
            foreach (var raw in values)
            {
                var value = raw ?? string.Empty;
                string? error = null;
                var known = true;
                switch (name)
                {
                    case "patient" when compartment:
                        error = ReadPatient(value, allowBareId: true, name, patients);
                        break;
                    case "subject" when compartment && hasSubject:
                        error = ReadPatient(value, allowBareId: false, name, patients);
                        break;
                    case "status" when compartment:
                        result.Statuses.Add(Split(value));
                        break;
                    case "url" when !compartment:
                        result.Urls.Add(value);
                        break;
                    case "_id":
                        result.Ids.Add(Split(value));
                        break;
                    case "_format":
                        if (!value.Contains("json", StringComparison.OrdinalIgnoreCase))
                        {
                            error = $"_format '{value}' is not supported; this server answers in {Http.FhirJson.MediaType}.";
                        }

                        break;
                    default:
                        known = false;
                        break;
                }

                if (!known)
                {
                    if (lenient)
                    {
                        continue;
                    }

                    return (null, $"The search parameter '{name}' is not supported for {resourceType}.");
                }

                if (error is not null)
                {
                    return (null, error);
                }

                result.Applied.Add(new(name, value));
            }
        }

        if (patients.Count > 1)
        {
            return (null, "The search names more than one patient; search one patient at a time.");
        }

        result.PatientId = patients.SingleOrDefault();
        return (result, null);
    }

    /// <summary>Whether <paramref name="resource"/> satisfies every parameter other than the patient.</summary>
    public bool Matches(Resource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var status = StatusOf(resource);
        return Statuses.All(any => status is not null && any.Contains(status, StringComparer.Ordinal))
            && Ids.All(any => any.Contains(resource.Id, StringComparer.Ordinal))
            && Urls.All(canonical => MatchesCanonical(resource, canonical));
    }

    private static bool MatchesCanonical(Resource resource, string canonical)
    {
        var (url, version) = Canonicals.Of(resource);
        if (url is null)
        {
            return false;
        }

        var bar = canonical.IndexOf('|', StringComparison.Ordinal);
        return bar < 0
            ? url == canonical
            : url == canonical[..bar] && version == canonical[(bar + 1)..];
    }

    private static string? StatusOf(Resource resource) => resource switch
    {
        Hl7.Fhir.Model.Task task => task.Status?.GetLiteral(),
        CarePlan carePlan => carePlan.Status?.GetLiteral(),
        Communication communication => communication.Status?.GetLiteral(),
        QuestionnaireResponse response => response.Status?.GetLiteral(),
        Observation observation => observation.Status?.GetLiteral(),
        Flag flag => flag.Status?.GetLiteral(),
        Consent consent => consent.Status?.GetLiteral(),
        _ => null,
    };

    private static string[] Split(string value) =>
        value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string? ReadPatient(string value, bool allowBareId, string name, HashSet<string> patients)
    {
        if (value.Contains(',', StringComparison.Ordinal))
        {
            return $"'{name}' names more than one patient; search one patient at a time.";
        }

        string? id = null;
        if (value.StartsWith("Patient/", StringComparison.Ordinal))
        {
            id = value["Patient/".Length..];
        }
        else if (allowBareId && !value.Contains('/', StringComparison.Ordinal))
        {
            id = value;
        }

        if (string.IsNullOrEmpty(id) || !FhirIds.IsValid(id))
        {
            return allowBareId
                ? $"'{name}' must be a patient id or Patient/{{id}}."
                : $"'{name}' must be Patient/{{id}}: only patients are searched.";
        }

        patients.Add(id);
        return null;
    }
}

/// <summary>FHIR logical ids: 1-64 of A-Z a-z 0-9 - and '.'.</summary>
public static class FhirIds
{
    public static bool IsValid(string? id) =>
        id is { Length: > 0 and <= 64 } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.');
}
