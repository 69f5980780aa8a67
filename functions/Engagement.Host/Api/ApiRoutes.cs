using Engagement.Diagnostics.DurableProbe;
using Engagement.Health;
using Microsoft.DurableTask.Client;

namespace Engagement.Host.Api;

/// <summary>
/// The HTTP API of ../shared/CONTRACT.md, mapped onto the core handlers. Each route is bind, call, return: the
/// same handlers the Functions app calls (a test keeps both hosts' routes equal).
/// </summary>
public static class ApiRoutes
{
    public static IEndpointRouteBuilder MapEngagementApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api");

        api.MapGet("/health", (HealthHandler handler, DurableTaskClient client, CancellationToken ct) =>
            handler.HandleAsync(client, ct));

        var probe = api.MapGroup("/diagnostics/durable-probe");
        probe.MapPost("", (ProbeHandler handler, HttpRequest request, DurableTaskClient client, CancellationToken ct) =>
            handler.StartAsync(request, client, ct));
        probe.MapGet("/{instanceId}", (ProbeHandler handler, HttpRequest request, string instanceId, DurableTaskClient client, CancellationToken ct) =>
            handler.GetAsync(request, instanceId, client, ct));
        probe.MapPost("/{instanceId}/proceed", (ProbeHandler handler, HttpRequest request, string instanceId, DurableTaskClient client, CancellationToken ct) =>
            handler.ProceedAsync(request, instanceId, client, ct));

        return app;
    }
}
