using Engagement.Hosting;
using Engagement.Host.Api;
using Engagement.Host.DurableEngine;
using Engagement.Http;

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
