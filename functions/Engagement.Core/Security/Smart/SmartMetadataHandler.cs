using Engagement.Hosting;
using Engagement.Http;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Engagement.Security.Smart;

/// <summary>
/// The public descriptions of <c>/api/fhir</c>: <c>GET /api/fhir/metadata</c> (CapabilityStatement R4 with the SMART
/// security service and <c>oauth-uris</c> extension) and <c>GET /api/fhir/.well-known/smart-configuration</c> (the
/// primary issuer's endpoints, our capabilities and scopes).
/// </summary>
public sealed class SmartMetadataHandler(
    SmartIssuerDirectory directory,
    IOptionsMonitor<SmartOptions> smartOptions,
    IOptionsMonitor<EngagementOptions> engagementOptions)
{
    public const string OAuthUrisExtension = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris";

    /// <summary>The resource types the facade serves, with their interactions.</summary>
    public static readonly IReadOnlyList<(string Type, CapabilityStatement.TypeRestfulInteraction[] Interactions)> Resources =
    [
        ("Questionnaire", [CapabilityStatement.TypeRestfulInteraction.Read, CapabilityStatement.TypeRestfulInteraction.SearchType, CapabilityStatement.TypeRestfulInteraction.Update]),
        ("QuestionnaireResponse", [CapabilityStatement.TypeRestfulInteraction.Read, CapabilityStatement.TypeRestfulInteraction.SearchType, CapabilityStatement.TypeRestfulInteraction.Create]),
        ("Task", [CapabilityStatement.TypeRestfulInteraction.Read, CapabilityStatement.TypeRestfulInteraction.SearchType]),
        ("CarePlan", [CapabilityStatement.TypeRestfulInteraction.Read, CapabilityStatement.TypeRestfulInteraction.SearchType]),
        ("Communication", [CapabilityStatement.TypeRestfulInteraction.Read, CapabilityStatement.TypeRestfulInteraction.SearchType]),
        ("PlanDefinition", [CapabilityStatement.TypeRestfulInteraction.Read, CapabilityStatement.TypeRestfulInteraction.SearchType, CapabilityStatement.TypeRestfulInteraction.Update]),
        ("MeasureReport", [CapabilityStatement.TypeRestfulInteraction.Read]),
    ];

    public static readonly IReadOnlyList<string> ScopesSupported =
    [
        "openid", "fhirUser", "launch", "launch/patient", "offline_access",
        "patient/Questionnaire.rs", "patient/QuestionnaireResponse.cru", "patient/QuestionnaireResponse.rs", "patient/Task.rs", "patient/CarePlan.rs", "patient/Communication.rs",
        "user/Questionnaire.rs", "user/QuestionnaireResponse.rs", "user/Task.rs", "user/CarePlan.rs", "user/Communication.rs", "user/PlanDefinition.rs", "user/MeasureReport.rs",
        "system/*.rs",
    ];

    public static readonly IReadOnlyList<string> Capabilities =
    [
        "launch-ehr", "launch-standalone", "client-public", "client-confidential-symmetric", "client-confidential-asymmetric",
        "context-ehr-patient", "context-standalone-patient", "sso-openid-connect",
        "permission-patient", "permission-user", "permission-v1", "permission-v2",
    ];

    private static readonly string[] GrantTypes = ["authorization_code", "client_credentials"];
    private static readonly string[] ResponseTypes = ["code"];
    private static readonly string[] TokenEndpointAuthMethods = ["private_key_jwt", "client_secret_basic"];
    private static readonly string[] CodeChallengeMethods = ["S256"];

    public async Task<IResult> CapabilityStatementAsync(CancellationToken cancellationToken)
    {
        var discovery = await TryDiscoverAsync(cancellationToken);
        var security = new CapabilityStatement.SecurityComponent
        {
            Cors = true,
            Service = [new CodeableConcept("http://terminology.hl7.org/CodeSystem/restful-security-service", "SMART-on-FHIR", "SMART-on-FHIR")],
            Description = "SMART App Launch (v1 and v2 scopes) with bearer access tokens from the configured authorization server; X-Admin-Key grants the care team read access.",
        };
        if (discovery is not null)
        {
            var uris = new Extension { Url = OAuthUrisExtension };
            AddUri(uris, "authorize", discovery.AuthorizationEndpoint);
            AddUri(uris, "token", discovery.TokenEndpoint);
            AddUri(uris, "register", discovery.RegistrationEndpoint);
            AddUri(uris, "manage", discovery.ManagementEndpoint);
            AddUri(uris, "introspect", discovery.IntrospectionEndpoint);
            AddUri(uris, "revoke", discovery.RevocationEndpoint);
            security.Extension.Add(uris);
        }

        var statement = new CapabilityStatement
        {
            Url = FhirBase() + "/metadata",
            Name = "EngagementFunctionsFhirFacade",
            Title = "Engagement Functions FHIR facade",
            Status = PublicationStatus.Active,
            Date = "2026-11-24",
            Kind = CapabilityStatementKind.Instance,
            Software = new CapabilityStatement.SoftwareComponent { Name = "Engagement Functions" },
            Implementation = new CapabilityStatement.ImplementationComponent { Description = "Engagement Functions", Url = FhirBase() },
            FhirVersion = FHIRVersion.N4_0_1,
            Format = ["application/fhir+json", "json"],
            Rest =
            [
                new CapabilityStatement.RestComponent
                {
                    Mode = CapabilityStatement.RestfulCapabilityMode.Server,
                    Security = security,
                    Resource = Resources.Select(r => new CapabilityStatement.ResourceComponent
                    {
                        Type = r.Type,
                        Interaction = r.Interactions.Select(i => new CapabilityStatement.ResourceInteractionComponent { Code = i }).ToList(),
                    }).ToList(),
                },
            ],
        };
        return FhirResults.Resource(statement);
    }

    public async Task<IResult> SmartConfigurationAsync(CancellationToken cancellationToken)
    {
        if (Primary() is null)
        {
            return FhirResults.NotFound("No SMART authorization server is configured.");
        }

        var discovery = await TryDiscoverAsync(cancellationToken);
        if (discovery is null)
        {
            return FhirResults.Unavailable("The SMART authorization server's configuration is not available; try again later.");
        }

        return Results.Json(new Dictionary<string, object?>
        {
            ["issuer"] = discovery.Issuer,
            ["jwks_uri"] = discovery.JwksUri,
            ["authorization_endpoint"] = discovery.AuthorizationEndpoint,
            ["token_endpoint"] = discovery.TokenEndpoint,
            ["grant_types_supported"] = GrantTypes,
            ["response_types_supported"] = ResponseTypes,
            ["token_endpoint_auth_methods_supported"] = TokenEndpointAuthMethods,
            ["scopes_supported"] = ScopesSupported,
            ["capabilities"] = Capabilities,
            ["code_challenge_methods_supported"] = CodeChallengeMethods,
        });
    }

    private async Task<SmartDiscovery?> TryDiscoverAsync(CancellationToken cancellationToken)
    {
        if (Primary() is not { } issuer)
        {
            return null;
        }

        try
        {
            return await directory.GetDiscoveryAsync(issuer, cancellationToken);
        }
        catch (SmartIssuerUnavailableException)
        {
            return null;
        }
    }

    private string? Primary() => smartOptions.CurrentValue.Issuers.FirstOrDefault(i => !string.IsNullOrEmpty(i.Issuer))?.Issuer;

    private string FhirBase()
    {
        var audience = smartOptions.CurrentValue.Issuers.FirstOrDefault(i => !string.IsNullOrEmpty(i.Audience))?.Audience;
        if (audience is not null)
        {
            return audience.TrimEnd('/');
        }

        var publicBase = engagementOptions.CurrentValue.PublicBaseUrl?.ToString().TrimEnd('/') ?? string.Empty;
        return publicBase + "/api/fhir";
    }

    private static void AddUri(Extension parent, string name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            parent.Extension.Add(new Extension(name, new FhirUri(value)));
        }
    }
}
