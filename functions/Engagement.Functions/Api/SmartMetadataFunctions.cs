using Engagement.Security.Smart;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Engagement.Functions.Api;

/// <summary>Public descriptions of the FHIR facade (CapabilityStatement, SMART configuration) and the test-only SMART probe.</summary>
public sealed class SmartMetadataFunctions(SmartMetadataHandler handler, SmartDiagnosticsHandler diagnostics)
{
    [Function("DiagnosticsSmartAuthorize")]
    public Task<IActionResult> Authorize(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/diagnostics/smart/authorize")] HttpRequest request) =>
        diagnostics.AuthorizeAsync(request, request.HttpContext.RequestAborted).ToActionResult();

    [Function("FhirMetadata")]
    public Task<IActionResult> Metadata(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/fhir/metadata")] HttpRequest request) =>
        handler.CapabilityStatementAsync(request.HttpContext.RequestAborted).ToActionResult();

    [Function("FhirSmartConfiguration")]
    public Task<IActionResult> SmartConfiguration(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/fhir/.well-known/smart-configuration")] HttpRequest request) =>
        handler.SmartConfigurationAsync(request.HttpContext.RequestAborted).ToActionResult();
}
