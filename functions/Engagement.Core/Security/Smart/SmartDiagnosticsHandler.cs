using Engagement.Diagnostics;
using Engagement.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Engagement.Security.Smart;

/// <summary>
/// Test-only <c>GET /api/diagnostics/smart/authorize?type=&amp;interaction=&amp;patient=&amp;search=</c> (only when
/// <c>Engagement:Diagnostics:Enabled</c>; 404 otherwise): runs <see cref="SmartAuthenticator"/> and
/// <see cref="SmartAccess.Authorize"/> / <see cref="SmartAccess.RestrictSearch"/> exactly as a FHIR route does, and
/// answers what was decided. It lets integration tests drive bearer validation before the FHIR routes exist.
/// </summary>
public sealed class SmartDiagnosticsHandler(SmartAuthenticator authenticator, IOptionsMonitor<DiagnosticsOptions> options)
{
    public async Task<IResult> AuthorizeAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!options.CurrentValue.Enabled)
        {
            return FhirResults.NotFound("Not found.");
        }

        var type = request.Query["type"].ToString();
        var patient = request.Query["patient"].ToString();
        var search = request.Query["search"].ToString() == "true";
        var interaction = request.Query["interaction"].ToString() switch
        {
            "c" => SmartInteraction.Create,
            "r" => SmartInteraction.Read,
            "u" => SmartInteraction.Update,
            "d" => SmartInteraction.Delete,
            "s" => SmartInteraction.Search,
            _ => SmartInteraction.None,
        };
        if (type.Length == 0 || (!search && interaction == SmartInteraction.None))
        {
            return FhirResults.BadRequest("type and interaction (c, r, u, d or s) are required, or search=true.");
        }

        var authentication = await authenticator.AuthenticateAsync(request, cancellationToken);
        if (!authentication.Succeeded)
        {
            return authentication.Failure;
        }

        var access = authentication.Access;
        if (search)
        {
            return access.RestrictSearch(type, patient.Length == 0 ? null : patient, out var filter, out var denied)
                ? Results.Json(new { allowed = true, patientFilter = filter })
                : denied;
        }

        return access.Authorize(type, interaction, patient.Length == 0 ? null : patient) is { } refused
            ? refused
            : Results.Json(new { allowed = true, patient = access.PatientId, careTeam = access.IsCareTeamKey, scopes = access.Scopes.ToString() });
    }
}
