using Engagement.Health;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace Engagement.Functions.Api;

public sealed class HealthFunctions(HealthHandler handler)
{
    [Function("Health")]
    public Task<IActionResult> Health(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/health")] HttpRequest request,
        [DurableClient] DurableTaskClient client) =>
        handler.HandleAsync(client, request.HttpContext.RequestAborted).ToActionResult();
}
