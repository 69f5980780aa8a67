using Engagement.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Engagement.Functions.Api;

/// <summary>The engagement page's static files (LHC-Forms and our own script and styles), from the app's own output.</summary>
public sealed class StaticAssetFunctions(StaticAssets assets)
{
    [Function("StaticAssets")]
    public Task<IActionResult> Get(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "static/{*path}")] HttpRequest request,
        string path) =>
        assets.GetAsync(request, path, request.HttpContext.RequestAborted).ToActionResult();
}
