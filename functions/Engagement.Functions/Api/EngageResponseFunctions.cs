using Engagement.Outcomes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace Engagement.Functions.Api;

/// <summary>The patient's QuestionnaireResponse through their engagement link.</summary>
public sealed class EngageResponseFunctions(ResponseSubmissionHandler handler)
{
    [Function("EngageResponse")]
    public Task<IActionResult> Submit(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/engage/{token}/response")] HttpRequest request,
        string token,
        [DurableClient] DurableTaskClient client) =>
        handler.SubmitAsync(request, token, client, request.HttpContext.RequestAborted).ToActionResult();
}
