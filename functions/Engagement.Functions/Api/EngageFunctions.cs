using Engagement.Links;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Engagement.Functions.Api;

/// <summary>The patient's engagement page and its data route (the link token is the credential).</summary>
public sealed class EngageFunctions(EngageHandler handler)
{
    [Function("EngagePage")]
    public Task<IActionResult> Page(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "engage/{token}")] HttpRequest request,
        string token) =>
        handler.PageAsync(request, token, request.HttpContext.RequestAborted).ToActionResult();

    [Function("EngageContext")]
    public Task<IActionResult> Context(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/engage/{token}")] HttpRequest request,
        string token) =>
        handler.ContextAsync(request, token, request.HttpContext.RequestAborted).ToActionResult();
}
