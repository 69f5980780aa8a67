using Engagement.Http;
using Engagement.Security;
using Engagement.Security.Smart;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Engagement.Fhir;

/// <summary>
/// Who may do what on <c>/api/fhir</c>: the care team with <c>X-Admin-Key</c> (everything, as
/// <see cref="AdminKeyFhirAccessPolicy"/>), or a SMART on FHIR app with a bearer access token from a configured issuer.
/// A token needs a scope for the resource type and interaction (SMART v2 <c>r</c>/<c>s</c>/<c>c</c> or v1
/// <c>.read</c>/<c>.write</c>/<c>.*</c>); with a patient in context (the <c>patient</c> claim, or a Patient
/// <c>fhirUser</c>) it reaches only that patient's compartment. Definitions are readable with a scope for their type;
/// <c>PUT</c> of definitions stays admin-key only. Refusals carry no token validation detail: 401 (with
/// <c>WWW-Authenticate: Bearer</c>) for a missing or invalid token, 403 for a valid token that does not reach.
/// </summary>
public sealed class SmartFhirAccessPolicy(AdminKeyFhirAccessPolicy adminKey, SmartAuthenticator authenticator) : IFhirAccessPolicy
{
    public async Task<FhirAccessDecision> AuthorizeAsync(HttpRequest request, string resourceType, FhirInteraction interaction, string? patientId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(resourceType);
        var hasBearer = request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase);
        if (request.Headers.ContainsKey(AdminKeyAuthorizer.HeaderName) || (interaction == FhirInteraction.Update && !hasBearer))
        {
            return await adminKey.AuthorizeAsync(request, resourceType, interaction, patientId, cancellationToken);
        }

        var authentication = await authenticator.AuthenticateAsync(request, cancellationToken);
        if (!authentication.Succeeded)
        {
            // The authenticator's diagnostics say why the token failed; only the diagnostics route shows them.
            if (authentication.Failure is IStatusCodeHttpResult { StatusCode: StatusCodes.Status503ServiceUnavailable })
            {
                return FhirAccessDecision.Deny(FhirResults.Unavailable("The authorization server is not reachable right now; try again later."));
            }

            request.HttpContext.Response.Headers[HeaderNames.WWWAuthenticate] = hasBearer ? "Bearer error=\"invalid_token\"" : "Bearer";
            return FhirAccessDecision.Deny(FhirResults.Unauthorized("This route requires a valid SMART on FHIR bearer access token."));
        }

        return Decide(authentication.Access, resourceType, interaction, patientId);
    }

    /// <summary>The scope and compartment rules for a validated token.</summary>
    public static FhirAccessDecision Decide(SmartAccess access, string resourceType, FhirInteraction interaction, string? patientId)
    {
        ArgumentNullException.ThrowIfNull(access);
        var smartInteraction = interaction switch
        {
            FhirInteraction.Read => SmartInteraction.Read,
            FhirInteraction.Search => SmartInteraction.Search,
            FhirInteraction.Create => SmartInteraction.Create,
            _ => SmartInteraction.None,
        };
        if (smartInteraction == SmartInteraction.None)
        {
            return FhirAccessDecision.Deny(FhirResults.Forbidden($"{interaction} on {resourceType} needs the care team's admin key."));
        }

        if (!access.Allows(resourceType, smartInteraction))
        {
            return FhirAccessDecision.Deny(FhirResults.Forbidden($"The access token's scopes do not allow {interaction} on {resourceType}."));
        }

        if (!FhirResourceTypes.PatientCompartment.ContainsKey(resourceType))
        {
            return FhirAccessDecision.Allowed; // definitions (or a type not served: the handler answers 404)
        }

        if (patientId is null)
        {
            // A search without a patient is refused by the handler (400) for every caller. A read of an id that does
            // not exist: a token with a patient context gets 403, as for another patient's id, so that 403 versus 404
            // does not tell it which ids exist.
            return interaction == FhirInteraction.Read && access.PatientId is not null
                ? FhirAccessDecision.Deny(FhirResults.Forbidden("The access token does not allow access to this resource."))
                : FhirAccessDecision.Allowed;
        }

        return access.CanAccess(patientId)
            ? FhirAccessDecision.Allowed
            : FhirAccessDecision.Deny(FhirResults.Forbidden(interaction == FhirInteraction.Search
                ? "The access token does not allow searching another patient's resources."
                : "The access token does not allow access to this patient's resources."));
    }
}
