using Engagement.Diagnostics.DurableProbe;
using Engagement.Health;
using Engagement.Intake;
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

        var notifications = api.MapGroup("/notifications/{source}");
        notifications.MapPost("", (IntakeHandler handler, HttpRequest request, string source, CancellationToken ct) =>
            handler.PostNotificationAsync(request, source, ct));
        notifications.MapPut("/{type}/{id}", (IntakeHandler handler, HttpRequest request, string source, string type, string id, CancellationToken ct) =>
            handler.PutResourceAsync(request, source, type, id, ct));
        notifications.MapDelete("/{type}/{id}", (IntakeHandler handler, HttpRequest request, string source, string type, string id, CancellationToken ct) =>
            handler.DeleteResourceAsync(request, source, type, id, ct));
        api.MapPost("/events/{source}", (IntakeHandler handler, HttpRequest request, string source, CancellationToken ct) =>
            handler.PostEventsAsync(request, source, ct));
        api.MapMethods("/events/{source}", [HttpMethods.Options], (IntakeHandler handler, HttpRequest request, string source) =>
            handler.OptionsEvents(request, source));
        api.MapGet("/subscriptions/{source}", (IntakeHandler handler, HttpRequest request, string source, CancellationToken ct) =>
            handler.GetSubscriptionsAsync(request, source, ct));

        if (app.ServiceProvider.GetRequiredService<Microsoft.Extensions.Options.IOptions<IntakeOptions>>().Value.BenchmarkFloor)
        {
            // Opt-in (Engagement__Intake__BenchmarkFloor=true): the floor the intake accept path is measured against.
            api.MapPost("/diagnostics/intake-floor", (IntakeFloor floor, CancellationToken ct) => floor.InsertAsync(ct));
        }

        return app;
    }
}
