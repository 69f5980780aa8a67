using System.Globalization;
using Engagement.Hosting;
using Engagement.Http;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Engagement.Fhir;

/// <summary>
/// The FHIR R4 REST facade under <c>/api/fhir</c>: read and search over what the engine stores (patient
/// compartment) and the definitions catalog, and admin updates of definitions. Every answer but a 2xx is an
/// OperationOutcome; every request is authorized by <see cref="IFhirAccessPolicy"/>.
/// </summary>
public sealed class FhirHandler(
    IFhirAccessPolicy access,
    IFhirResourceStore store,
    FhirDefinitions definitions,
    IOptionsMonitor<EngagementOptions> options)
{
    /// <summary>Route templates shared by both hosts. The constraints keep <c>metadata</c>, <c>.well-known/...</c> and <c>$operations</c> out of these routes, also on the Functions host, which does not rank literal segments first.</summary>
    public const string TypeRoute = "fhir/{resourceType:regex(^(?-i)[A-Z][A-Za-z]+$)}";

    public const string InstanceRoute = TypeRoute + "/{id:regex(^[A-Za-z0-9.-]+$)}";

    /// <summary><c>GET /api/fhir/{type}/{id}</c>.</summary>
    public async Task<IResult> ReadAsync(HttpRequest request, string resourceType, string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        Resource? resource = null;
        string? patientId = null;
        if (FhirIds.IsValid(id))
        {
            if (FhirResourceTypes.Definitions.Contains(resourceType))
            {
                resource = await definitions.GetAsync(resourceType, id, cancellationToken);
            }
            else if (FhirResourceTypes.PatientCompartment.ContainsKey(resourceType))
            {
                var stored = await store.GetAsync(resourceType, id, cancellationToken);
                (resource, patientId) = (stored?.Resource, stored?.PatientId);
            }
        }

        var decision = await access.AuthorizeAsync(request, resourceType, FhirInteraction.Read, patientId, cancellationToken);
        if (!decision.IsAllowed)
        {
            return decision.Denial!;
        }

        if (!FhirResourceTypes.IsServed(resourceType))
        {
            return UnknownType(resourceType);
        }

        return resource is null
            ? FhirResults.NotFound($"{resourceType}/{id} is not known.")
            : new FhirResourceWithHeaders(resource, StatusCodes.Status200OK, location: null);
    }

    /// <summary><c>GET /api/fhir/{type}?...</c>: a searchset Bundle; compartment types need a patient.</summary>
    public async Task<IResult> SearchAsync(HttpRequest request, string resourceType, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var lenient = request.Headers["Prefer"].Any(p => p is not null && p.Contains("handling=lenient", StringComparison.OrdinalIgnoreCase));
        var (parameters, error) = FhirSearchParameters.Parse(resourceType, request.Query, lenient);
        var decision = await access.AuthorizeAsync(request, resourceType, FhirInteraction.Search, parameters?.PatientId, cancellationToken);
        if (!decision.IsAllowed)
        {
            return decision.Denial!;
        }

        if (!FhirResourceTypes.IsServed(resourceType))
        {
            return UnknownType(resourceType);
        }

        if (parameters is null)
        {
            return FhirResults.Outcome(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.NotSupported, error!);
        }

        IEnumerable<Resource> matches;
        if (FhirResourceTypes.PatientCompartment.ContainsKey(resourceType))
        {
            if (parameters.PatientId is null)
            {
                return FhirResults.Outcome(StatusCodes.Status400BadRequest, OperationOutcome.IssueType.Required,
                    $"Searching {resourceType} needs a patient (patient={{id}} or subject=Patient/{{id}}); this server never lists every patient's data.");
            }

            var stored = await store.SearchByPatientAsync(resourceType, parameters.PatientId, cancellationToken);
            matches = stored.Select(s => s.Resource);
        }
        else
        {
            matches = await definitions.ListAsync(resourceType, cancellationToken);
        }

        var baseUrl = BaseUrl(request);
        var found = matches.Where(parameters.Matches).ToList();
        var bundle = new Bundle
        {
            Id = Guid.NewGuid().ToString("N"),
            Meta = new Meta { LastUpdated = DateTimeOffset.UtcNow },
            Type = Bundle.BundleType.Searchset,
            Total = found.Count,
            Link = [new Bundle.LinkComponent { Relation = "self", Url = SelfLink(baseUrl, resourceType, parameters) }],
            Entry = [.. found.Select(r => new Bundle.EntryComponent
            {
                FullUrl = $"{baseUrl}/api/fhir/{r.TypeName}/{r.Id}",
                Resource = r,
                Search = new Bundle.SearchComponent { Mode = Bundle.SearchEntryMode.Match },
            })],
        };
        return FhirResults.Resource(bundle);
    }

    /// <summary><c>PUT /api/fhir/{Questionnaire|PlanDefinition|ValueSet}/{id}</c> (admin): validate, store, 201 or 200.</summary>
    public async Task<IResult> UpdateAsync(HttpRequest request, string resourceType, string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var decision = await access.AuthorizeAsync(request, resourceType, FhirInteraction.Update, null, cancellationToken);
        if (!decision.IsAllowed)
        {
            return decision.Denial!;
        }

        if (!FhirResourceTypes.IsServed(resourceType))
        {
            return UnknownType(resourceType);
        }

        if (!FhirResourceTypes.Writable.Contains(resourceType))
        {
            return FhirResults.Outcome(StatusCodes.Status405MethodNotAllowed, OperationOutcome.IssueType.NotSupported,
                $"{resourceType} cannot be written here; PUT accepts {string.Join(", ", FhirResourceTypes.Writable.Order(StringComparer.Ordinal))}.");
        }

        if (!FhirIds.IsValid(id))
        {
            return FhirResults.BadRequest($"'{id}' is not a valid FHIR id (1-64 of A-Z, a-z, 0-9, '-', '.').");
        }

        string? ifMatch = null;
        if (request.Headers.IfMatch.Count > 0 && !TryReadVersion(request.Headers.IfMatch.ToString(), out ifMatch))
        {
            return FhirResults.BadRequest("If-Match must be a version ETag such as W/\"1\".");
        }

        var (resource, bodyError, invalid) = await FhirRequestBody.ReadAsync(request, cancellationToken);
        if (bodyError is not null)
        {
            return bodyError;
        }

        if (resource!.TypeName != resourceType)
        {
            return FhirResults.BadRequest($"The body is a {resource.TypeName}; this URL takes a {resourceType}.");
        }

        if (resource.Id != id)
        {
            return FhirResults.BadRequest(resource.Id is null
                ? $"The body needs id '{id}', as in the URL."
                : $"The body's id '{resource.Id}' does not match the URL's id '{id}'.");
        }

        var outcome = DefinitionValidator.Validate(resource, await definitions.SnapshotAsync(cancellationToken));
        if (invalid is not null)
        {
            outcome.Issue.InsertRange(0, invalid.Issue);
        }

        if (DefinitionValidator.HasErrors(outcome))
        {
            return FhirResults.Resource(outcome, StatusCodes.Status422UnprocessableEntity);
        }

        var saved = await definitions.SaveAsync(resource, ifMatch, cancellationToken);
        return saved.Status switch
        {
            DefinitionSaveStatus.PreconditionFailed => FhirResults.Outcome(StatusCodes.Status412PreconditionFailed, OperationOutcome.IssueType.Conflict,
                saved.CurrentVersion is null
                    ? $"If-Match names version {ifMatch}, but {resourceType}/{id} has no such version."
                    : $"If-Match names version {ifMatch}, but the current version is {saved.CurrentVersion}."),
            DefinitionSaveStatus.Conflict => FhirResults.Outcome(StatusCodes.Status409Conflict, OperationOutcome.IssueType.Conflict,
                $"{resourceType}/{id} is being changed concurrently; try again."),
            _ => new FhirResourceWithHeaders(
                saved.Resource!,
                saved.Existed ? StatusCodes.Status200OK : StatusCodes.Status201Created,
                $"{BaseUrl(request)}/api/fhir/{resourceType}/{id}/_history/{saved.Resource!.Meta?.VersionId}"),
        };
    }

    /// <summary><c>W/"3"</c>, <c>"3"</c> or <c>3</c> → <c>3</c>.</summary>
    private static bool TryReadVersion(string header, out string? version)
    {
        var value = header.Trim();
        if (value.StartsWith("W/", StringComparison.Ordinal))
        {
            value = value[2..];
        }

        value = value.Trim('"');
        version = value;
        return value.Length > 0 && !value.Contains('"', StringComparison.Ordinal) && !value.Contains(',', StringComparison.Ordinal);
    }

    private static IResult UnknownType(string resourceType) =>
        FhirResults.NotFound($"Resource type '{resourceType}' is not served here.");

    private static string SelfLink(string baseUrl, string resourceType, FhirSearchParameters parameters)
    {
        var query = string.Join('&', parameters.Applied.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}"));
        return $"{baseUrl}/api/fhir/{resourceType}" + (query.Length > 0 ? "?" + query : string.Empty);
    }

    private string BaseUrl(HttpRequest request) =>
        options.CurrentValue.PublicBaseUrl is { } configured
            ? configured.ToString().TrimEnd('/')
            : $"{request.Scheme}://{request.Host}{request.PathBase}".TrimEnd('/');

    /// <summary>A resource with its version headers: ETag W/"{versionId}", Last-Modified, and Location when created or updated.</summary>
    private sealed class FhirResourceWithHeaders(Resource resource, int statusCode, string? location) : IResult, IStatusCodeHttpResult
    {
        public int? StatusCode => statusCode;

        public System.Threading.Tasks.Task ExecuteAsync(HttpContext httpContext)
        {
            ArgumentNullException.ThrowIfNull(httpContext);
            var headers = httpContext.Response.Headers;
            if (resource.Meta?.VersionId is { } version)
            {
                headers.ETag = $"W/\"{version}\"";
            }

            if (resource.Meta?.LastUpdated is { } lastUpdated)
            {
                headers.LastModified = lastUpdated.ToUniversalTime().ToString("R", CultureInfo.InvariantCulture);
            }

            if (location is not null)
            {
                headers.Location = location;
            }

            return FhirResults.Resource(resource, statusCode).ExecuteAsync(httpContext);
        }
    }
}
