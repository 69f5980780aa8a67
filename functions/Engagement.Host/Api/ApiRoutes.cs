using Engagement.Conversations;
using Engagement.Diagnostics.DurableProbe;
using Engagement.FollowUp.Engine;
using Engagement.Fhir;
using Engagement.Health;
using Engagement.Http;
using Engagement.Links;
using Engagement.Measures;
using Engagement.Outcomes;
using Engagement.Preferences;
using Engagement.Security.Smart;
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

        // The patient's page lives outside /api (CONTRACT.md); its data route inside.
        app.MapGet("/engage/{token}", (EngageHandler handler, HttpRequest request, string token, CancellationToken ct) =>
            handler.PageAsync(request, token, ct));
        api.MapGet("/engage/{token}", (EngageHandler handler, HttpRequest request, string token, CancellationToken ct) =>
            handler.ContextAsync(request, token, ct));
        // The page's own script and styles and the LHC-Forms files, from our build output (never a CDN).
        app.MapGet("/static/{*path}", (StaticAssets assets, HttpRequest request, string path, CancellationToken ct) =>
            assets.GetAsync(request, path, ct));
        api.MapPost("/engage/{token}/response", (ResponseSubmissionHandler handler, HttpRequest request, string token, DurableTaskClient client, CancellationToken ct) =>
            handler.SubmitAsync(request, token, client, ct));
        // The patient's preferences and follow-ups (still available after the link's one response was sent).
        api.MapGet("/engage/{token}/preferences", (PreferencesHandler handler, string token, CancellationToken ct) =>
            handler.GetAsync(token, ct));
        api.MapPut("/engage/{token}/preferences", (PreferencesHandler handler, HttpRequest request, string token, CancellationToken ct) =>
            handler.PutAsync(request, token, ct));
        api.MapGet("/engage/{token}/overview", (PreferencesHandler handler, HttpRequest request, string token, CancellationToken ct) =>
            handler.OverviewAsync(request, token, ct));

        var links = api.MapGroup("/diagnostics/links");
        links.MapPost("", (LinkDiagnosticsHandler handler, HttpRequest request, CancellationToken ct) =>
            handler.IssueAsync(request, ct));
        links.MapPost("/use", (LinkDiagnosticsHandler handler, HttpRequest request, CancellationToken ct) =>
            handler.UseAsync(request, ct));
        links.MapPost("/{linkId}/revoke", (LinkDiagnosticsHandler handler, HttpRequest request, string linkId, CancellationToken ct) =>
            handler.RevokeAsync(request, linkId, ct));

        api.MapGet("/diagnostics/smart/authorize", (SmartDiagnosticsHandler handler, HttpRequest request, CancellationToken ct) =>
            handler.AuthorizeAsync(request, ct));

        api.MapGet("/fhir/metadata", (SmartMetadataHandler handler, CancellationToken ct) =>
            handler.CapabilityStatementAsync(ct));
        api.MapGet("/fhir/.well-known/smart-configuration", (SmartMetadataHandler handler, CancellationToken ct) =>
            handler.SmartConfigurationAsync(ct));

        var followUps = api.MapGroup("/followups");
        followUps.MapGet("", (FollowUpHandler handler, HttpRequest request, DurableTaskClient client, CancellationToken ct) =>
            handler.ListAsync(request, client, ct));
        followUps.MapGet("/{instanceId}", (FollowUpHandler handler, HttpRequest request, string instanceId, DurableTaskClient client, CancellationToken ct) =>
            handler.GetAsync(request, instanceId, client, ct));
        followUps.MapPost("/{instanceId}/cancel", (FollowUpHandler handler, HttpRequest request, string instanceId, DurableTaskClient client, CancellationToken ct) =>
            handler.CancelAsync(request, instanceId, client, ct));
        api.MapGet(FhirHandler.InstanceRoute, (FhirHandler handler, HttpRequest request, string resourceType, string id, CancellationToken ct) =>
            handler.ReadAsync(request, resourceType, id, ct));
        api.MapGet(FhirHandler.TypeRoute, (FhirHandler handler, HttpRequest request, string resourceType, CancellationToken ct) =>
            handler.SearchAsync(request, resourceType, ct));
        api.MapPut(FhirHandler.InstanceRoute, (FhirHandler handler, HttpRequest request, string resourceType, string id, CancellationToken ct) =>
            handler.UpdateAsync(request, resourceType, id, ct));
        api.MapPost("/" + FhirResponseSubmissionHandler.Route, (FhirResponseSubmissionHandler handler, HttpRequest request, DurableTaskClient client, CancellationToken ct) =>
            handler.CreateAsync(request, client, ct));
        api.MapGet("/" + MeasuresHandler.EngagementRoute, (MeasuresHandler handler, HttpRequest request, CancellationToken ct) =>
            handler.EngagementAsync(request, ct));
        api.MapGet("/" + MeasuresHandler.MetricsRoute, (MeasuresHandler handler, HttpRequest request, CancellationToken ct) =>
            handler.MetricsAsync(request, ct));
        app.MapGet(DashboardHandler.PageRoute, (DashboardHandler handler) => handler.Page());
        app.MapGet(DashboardHandler.AssetRoute, (DashboardHandler handler, string name) => handler.Asset(name));
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

        api.MapPost("/inbound/{channel}", (InboundHandler handler, HttpRequest request, string channel, DurableTaskClient client, CancellationToken ct) =>
            handler.PostAsync(request, channel, client, ct));

        if (app.ServiceProvider.GetRequiredService<Microsoft.Extensions.Options.IOptions<IntakeOptions>>().Value.BenchmarkFloor)
        {
            // Opt-in (Engagement__Intake__BenchmarkFloor=true): the floor the intake accept path is measured against.
            api.MapPost("/diagnostics/intake-floor", (IntakeFloor floor, CancellationToken ct) => floor.InsertAsync(ct));
        }

        return app;
    }
}
