using System.Diagnostics.CodeAnalysis;
using Engagement.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Engagement.Security.Smart;

/// <summary>Either the caller's access or the 401/503 OperationOutcome to answer.</summary>
public sealed record SmartAuthentication(SmartAccess? Access, IResult? Failure)
{
    [MemberNotNullWhen(true, nameof(Access))]
    [MemberNotNullWhen(false, nameof(Failure))]
    public bool Succeeded => Access is not null;
}

/// <summary>
/// Authenticates a <c>/api/fhir</c> request: <c>X-Admin-Key</c> (the care team's read access, CONTRACT.md) or
/// <c>Authorization: Bearer {SMART access token}</c>. FHIR handlers call <see cref="AuthenticateAsync"/> first, then
/// <see cref="SmartAccess.Authorize"/> or <see cref="SmartAccess.RestrictSearch"/>.
/// </summary>
public sealed class SmartAuthenticator(AdminKeyAuthorizer admin, SmartTokenValidator validator)
{
    public async Task<SmartAuthentication> AuthenticateAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Headers.ContainsKey(AdminKeyAuthorizer.HeaderName))
        {
            return admin.Challenge(request) is { } denied
                ? new SmartAuthentication(null, denied)
                : new SmartAuthentication(SmartAccess.CareTeam, null);
        }

        var authorization = request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) || authorization.Length == scheme.Length)
        {
            return Challenge(request, "This route requires a SMART on FHIR bearer access token.");
        }

        var result = await validator.ValidateAsync(authorization[scheme.Length..].Trim(), cancellationToken);
        if (result.Access is not null)
        {
            return new SmartAuthentication(result.Access, null);
        }

        return result.IssuerUnavailable
            ? new SmartAuthentication(null, FhirResults.Unavailable(result.Failure!))
            : Challenge(request, result.Failure!, invalidToken: true);
    }

    private static SmartAuthentication Challenge(HttpRequest request, string diagnostics, bool invalidToken = false)
    {
        request.HttpContext.Response.Headers[HeaderNames.WWWAuthenticate] = invalidToken ? "Bearer error=\"invalid_token\"" : "Bearer";
        return new SmartAuthentication(null, FhirResults.Unauthorized(diagnostics));
    }
}
