using Engagement.FollowUp.Engine;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace Engagement.Functions.Api;

/// <summary>The care team's follow-up routes (X-Admin-Key, checked by the core).</summary>
public sealed class FollowUpHttpFunctions(FollowUpHandler handler)
{
    [Function("FollowUpList")]
    public Task<IActionResult> List(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/followups")] HttpRequest request,
        [DurableClient] DurableTaskClient client) =>
        handler.ListAsync(request, client, request.HttpContext.RequestAborted).ToActionResult();

    [Function("FollowUpGet")]
    public Task<IActionResult> Get(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/followups/{instanceId}")] HttpRequest request,
        string instanceId,
        [DurableClient] DurableTaskClient client) =>
        handler.GetAsync(request, instanceId, client, request.HttpContext.RequestAborted).ToActionResult();

    [Function("FollowUpCancel")]
    public Task<IActionResult> Cancel(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/followups/{instanceId}/cancel")] HttpRequest request,
        string instanceId,
        [DurableClient] DurableTaskClient client) =>
        handler.CancelAsync(request, instanceId, client, request.HttpContext.RequestAborted).ToActionResult();
}
