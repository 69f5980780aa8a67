using Engagement.Conversations;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace Engagement.Functions.Api;

/// <summary>Patient replies and delivery receipts from channel gateways (sms, email, push).</summary>
public sealed class InboundFunctions(InboundHandler handler)
{
    [Function("Inbound")]
    public Task<IActionResult> Post(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/inbound/{channel}")] HttpRequest request,
        string channel,
        [DurableClient] DurableTaskClient client) =>
        handler.PostAsync(request, channel, client, request.HttpContext.RequestAborted).ToActionResult();
}
