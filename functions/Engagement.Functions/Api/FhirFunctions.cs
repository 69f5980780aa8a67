using Engagement.Fhir;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Engagement.Functions.Api;

/// <summary>The FHIR R4 facade (<c>/api/fhir</c>): reads, searches and admin definition updates, authorized by the core.</summary>
public sealed class FhirFunctions(FhirHandler handler)
{
    [Function("FhirRead")]
    public Task<IActionResult> Read(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/" + FhirHandler.InstanceRoute)] HttpRequest request,
        string resourceType,
        string id) =>
        handler.ReadAsync(request, resourceType, id, request.HttpContext.RequestAborted).ToActionResult();

    [Function("FhirSearch")]
    public Task<IActionResult> Search(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/" + FhirHandler.TypeRoute)] HttpRequest request,
        string resourceType) =>
        handler.SearchAsync(request, resourceType, request.HttpContext.RequestAborted).ToActionResult();

    [Function("FhirUpdate")]
    public Task<IActionResult> Update(
        [HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/" + FhirHandler.InstanceRoute)] HttpRequest request,
        string resourceType,
        string id) =>
        handler.UpdateAsync(request, resourceType, id, request.HttpContext.RequestAborted).ToActionResult();
}
