using Engagement.Measures;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Engagement.Functions.Api;

/// <summary>Engagement measures: the FHIR <c>$engagement</c> MeasureReport, the dashboard JSON, the dashboard page and its assets.</summary>
public sealed class MeasuresFunctions(MeasuresHandler handler, DashboardHandler dashboard)
{
    [Function("MeasureReportEngagement")]
    public Task<IActionResult> Engagement(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/" + MeasuresHandler.EngagementRoute)] HttpRequest request) =>
        handler.EngagementAsync(request, request.HttpContext.RequestAborted).ToActionResult();

    [Function("MetricsEngagement")]
    public Task<IActionResult> Metrics(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "api/" + MeasuresHandler.MetricsRoute)] HttpRequest request) =>
        handler.MetricsAsync(request, request.HttpContext.RequestAborted).ToActionResult();

    [Function("Dashboard")]
    public Task<IActionResult> Page(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard")] HttpRequest request) =>
        Task.FromResult(dashboard.Page()).ToActionResult();

    [Function("DashboardAsset")]
    public Task<IActionResult> Asset(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "dashboard/assets/{name}")] HttpRequest request,
        string name) =>
        Task.FromResult(dashboard.Asset(name)).ToActionResult();
}
