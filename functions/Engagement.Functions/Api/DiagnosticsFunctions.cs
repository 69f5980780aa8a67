using Engagement.Diagnostics.DurableProbe;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace Engagement.Functions.Api;

/// <summary>Admin routes (X-Admin-Key, checked by the core) exercising the durable engine end to end.</summary>
public sealed class DiagnosticsFunctions(ProbeHandler handler)
{
    [Function("DurableProbeStart")]
    public Task<IActionResult> Start(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/diagnostics/durable-probe")] HttpRequest request,
        [DurableClient] DurableTaskClient client) =>
        handler.StartAsync(request, client, request.HttpContext.RequestAborted).ToActionResult();

    [Function("DurableProbeGet")]
    public Task<IActionResult> Get(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/diagnostics/durable-probe/{instanceId}")] HttpRequest request,
        string instanceId,
        [DurableClient] DurableTaskClient client) =>
        handler.GetAsync(request, instanceId, client, request.HttpContext.RequestAborted).ToActionResult();

    [Function("DurableProbeProceed")]
    public Task<IActionResult> Proceed(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/diagnostics/durable-probe/{instanceId}/proceed")] HttpRequest request,
        string instanceId,
        [DurableClient] DurableTaskClient client) =>
        handler.ProceedAsync(request, instanceId, client, request.HttpContext.RequestAborted).ToActionResult();
}
