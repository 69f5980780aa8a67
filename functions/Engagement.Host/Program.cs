using Engagement.Hosting;
using Engagement.Host.Api;
using Engagement.Host.DurableEngine;
using Engagement.Http;
using Engagement.Intake;
using Engagement.Telemetry;
using OpenTelemetry.Trace;

var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = args,
    // appsettings.json and static files ship beside the binary, wherever it is started from.
    ContentRootPath = AppContext.BaseDirectory,
});
if (string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]) && string.IsNullOrEmpty(builder.Configuration["urls"]))
{
    // The Functions default port, so the same requests work against `func start` and this host.
    builder.WebHost.UseUrls("http://127.0.0.1:7071");
}

builder.Services.AddEngagementCore(builder.Configuration);
builder.Services.AddStandaloneDurableEngine(builder.Configuration);
builder.Services.AddIntakeQueueListener();
builder.Services.AddSingleton<Engagement.Host.Api.IntakeFloor>();
builder.Services.AddEngagementTelemetry(builder.Configuration, tracing => tracing.AddAspNetCoreInstrumentation(options =>
{
    // The durable worker's own gRPC calls to the sidecar are plumbing, not requests.
    options.Filter = context => !context.Request.Path.StartsWithSegments("/TaskHubSidecarService", StringComparison.Ordinal);
    // Spans name routes by their template; the raw path can hold link tokens, so it is replaced by the template too.
    options.EnrichWithHttpResponse = (activity, response) =>
    {
        if (response.HttpContext.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } template })
        {
            activity.SetTag("url.path", template);
        }
    };
}));
builder.Services.AddProblemDetails();

var app = builder.Build();
app.UseExceptionHandler(error => error.Run(async context =>
{
    // Never a stack trace or PHI to the caller: an OperationOutcome that says to try again.
    await FhirResults.Unavailable("The service could not complete the request; try again later.").ExecuteAsync(context);
}));
app.MapEngagementApi();
app.Run();

/// <summary>Entry point; public for WebApplicationFactory-style tests.</summary>
public partial class Program;
