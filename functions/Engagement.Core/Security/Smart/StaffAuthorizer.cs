using Engagement.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Engagement.Security.Smart;

/// <summary>
/// The care team's routes that are not FHIR (the dashboard's data): the admin key (<c>X-Admin-Key</c>), or a SMART
/// access token from an authorization server configured as a staff issuer
/// (<c>Engagement__Smart__Issuers__{n}__Staff=true</c>, with its <c>__Issuer</c> and <c>__Audience</c>) that has no
/// patient in context (no <c>patient</c> claim, no Patient <c>fhirUser</c>) and a user- or system-level scope to read
/// MeasureReport (<c>user/MeasureReport.rs</c>, <c>user/MeasureReport.read</c>, <c>user/*.read</c>…; a
/// <c>patient/</c> scope does not count). A patient's token, or one from
/// an issuer not configured for staff, is a 403 whatever its scopes; no credentials or a bad token is a 401.
/// </summary>
public sealed class StaffAuthorizer(SmartAuthenticator authenticator, IOptionsMonitor<SmartOptions> options)
{
    /// <summary>Null when the caller is the care team; otherwise the 401/403/503 OperationOutcome to answer.</summary>
    public async Task<IResult?> ChallengeAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!request.Headers.ContainsKey(AdminKeyAuthorizer.HeaderName) && request.Headers.Authorization.Count == 0)
        {
            return FhirResults.Unauthorized($"This route requires the {AdminKeyAuthorizer.HeaderName} header or a staff bearer access token.");
        }

        var authentication = await authenticator.AuthenticateAsync(request, cancellationToken);
        if (!authentication.Succeeded)
        {
            // Why a token failed stays out of the answer (the SMART diagnostics route shows it); a wrong admin key says so.
            return authentication.Failure is IStatusCodeHttpResult { StatusCode: StatusCodes.Status503ServiceUnavailable } || request.Headers.ContainsKey(AdminKeyAuthorizer.HeaderName)
                ? authentication.Failure
                : FhirResults.Unauthorized("This route requires the X-Admin-Key header or a valid staff bearer access token.");
        }

        var access = authentication.Access;
        if (access.IsCareTeamKey)
        {
            return null;
        }

        if (!options.CurrentValue.Issuers.Any(i => i.Staff && string.Equals(i.Issuer, access.Issuer, StringComparison.Ordinal)))
        {
            return FhirResults.Forbidden("The access token's issuer is not configured for the care team.");
        }

        if (access.PatientId is not null)
        {
            return FhirResults.Forbidden("A token with a patient in context does not reach the care team's data.");
        }

        return access.Scopes.Allows("MeasureReport", SmartInteraction.Search, SmartScopeContext.User)
            || access.Scopes.Allows("MeasureReport", SmartInteraction.Search, SmartScopeContext.System)
            ? null
            : FhirResults.Forbidden("The access token's scopes do not allow reading MeasureReport.");
    }
}
