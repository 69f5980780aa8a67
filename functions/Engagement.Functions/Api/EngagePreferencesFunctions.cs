using Engagement.Preferences;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Engagement.Functions.Api;

/// <summary>The patient's preferences and follow-ups through their engagement link (the token is the credential).</summary>
public sealed class EngagePreferencesFunctions(PreferencesHandler handler)
{
    [Function("EngagePreferencesGet")]
    public Task<IActionResult> Get(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/engage/{token}/preferences")] HttpRequest request,
        string token) =>
        handler.GetAsync(token, request.HttpContext.RequestAborted).ToActionResult();

    [Function("EngagePreferencesPut")]
    public Task<IActionResult> Put(
        [HttpTrigger(AuthorizationLevel.Anonymous, "put", Route = "api/engage/{token}/preferences")] HttpRequest request,
        string token) =>
        handler.PutAsync(request, token, request.HttpContext.RequestAborted).ToActionResult();

    [Function("EngageOverview")]
    public Task<IActionResult> Overview(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/engage/{token}/overview")] HttpRequest request,
        string token) =>
        handler.OverviewAsync(request, token, request.HttpContext.RequestAborted).ToActionResult();
}
