using Engagement.Security;
using Microsoft.AspNetCore.Http;

namespace Engagement.Fhir;

/// <summary>What a request to <c>/api/fhir</c> does, for <see cref="IFhirAccessPolicy"/>.</summary>
public enum FhirInteraction
{
    /// <summary><c>GET /api/fhir/{type}/{id}</c>.</summary>
    Read,

    /// <summary><c>GET /api/fhir/{type}?...</c>.</summary>
    Search,

    /// <summary><c>PUT /api/fhir/{type}/{id}</c> (definitions only).</summary>
    Update,

    /// <summary><c>POST /api/fhir/{type}</c> (a patient's QuestionnaireResponse).</summary>
    Create,
}

/// <summary>
/// The one authorization check of the FHIR facade. Every <c>/api/fhir</c> handler asks it before answering
/// anything but a 401/403 it returns. <c>patientId</c> is the patient compartment the request touches: the
/// searched patient, the stored resource's patient on a read (asked after loading, so a caller without access
/// learns nothing from 404 versus 200), or null (definitions, or a read of an id that does not exist).
/// <see cref="SmartFhirAccessPolicy"/> is registered: the admin key or a SMART bearer token.
/// </summary>
public interface IFhirAccessPolicy
{
    Task<FhirAccessDecision> AuthorizeAsync(HttpRequest request, string resourceType, FhirInteraction interaction, string? patientId, CancellationToken cancellationToken);
}

/// <summary>Allowed, or the 401/403 OperationOutcome result to return instead.</summary>
public sealed class FhirAccessDecision
{
    public static readonly FhirAccessDecision Allowed = new(null);

    private FhirAccessDecision(IResult? denial) => Denial = denial;

    public bool IsAllowed => Denial is null;

    /// <summary>The response for a denied request (an OperationOutcome with 401 or 403).</summary>
    public IResult? Denial { get; }

    public static FhirAccessDecision Deny(IResult denial) => new(denial ?? throw new ArgumentNullException(nameof(denial)));
}

/// <summary>
/// CONTRACT.md: the <c>X-Admin-Key</c> header grants the care team's access to every <c>/api</c> route; the FHIR
/// definition writes require it too. No key: 401; no key configured on the server: 403.
/// </summary>
public sealed class AdminKeyFhirAccessPolicy(AdminKeyAuthorizer admin) : IFhirAccessPolicy
{
    public Task<FhirAccessDecision> AuthorizeAsync(HttpRequest request, string resourceType, FhirInteraction interaction, string? patientId, CancellationToken cancellationToken) =>
        System.Threading.Tasks.Task.FromResult(admin.Challenge(request) is { } denied ? FhirAccessDecision.Deny(denied) : FhirAccessDecision.Allowed);
}
