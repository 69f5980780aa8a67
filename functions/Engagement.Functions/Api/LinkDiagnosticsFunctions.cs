using Engagement.Links;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;

namespace Engagement.Functions.Api;

/// <summary>Test-only admin routes (Engagement__Diagnostics__Enabled, X-Admin-Key; 404 when disabled).</summary>
public sealed class LinkDiagnosticsFunctions(LinkDiagnosticsHandler handler)
{
    [Function("DiagnosticsLinkIssue")]
    public Task<IActionResult> Issue(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/diagnostics/links")] HttpRequest request) =>
        handler.IssueAsync(request, request.HttpContext.RequestAborted).ToActionResult();

    [Function("DiagnosticsLinkUse")]
    public Task<IActionResult> Use(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/diagnostics/links/use")] HttpRequest request) =>
        handler.UseAsync(request, request.HttpContext.RequestAborted).ToActionResult();

    [Function("DiagnosticsLinkRevoke")]
    public Task<IActionResult> Revoke(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "api/diagnostics/links/{linkId}/revoke")] HttpRequest request,
        string linkId) =>
        handler.RevokeAsync(request, linkId, request.HttpContext.RequestAborted).ToActionResult();
}
