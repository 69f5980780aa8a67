using Engagement.Security.Smart;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Engagement.Functions.Api;

/// <summary>Public descriptions of the FHIR facade: CapabilityStatement and SMART configuration.</summary>
public sealed class SmartMetadataFunctions(SmartMetadataHandler handler)
{
    [Function("FhirMetadata")]
    public Task<IActionResult> Metadata(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/fhir/metadata")] HttpRequest request) =>
        handler.CapabilityStatementAsync(request.HttpContext.RequestAborted).ToActionResult();

    [Function("FhirSmartConfiguration")]
    public Task<IActionResult> SmartConfiguration(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/fhir/.well-known/smart-configuration")] HttpRequest request) =>
        handler.SmartConfigurationAsync(request.HttpContext.RequestAborted).ToActionResult();
}
