using Engagement.Host.Api;
using Engagement.Host.DurableEngine;
using Engagement.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Functions.Tests;

/// <summary>
/// Both hosts serve the same API: every Functions HTTP route exists in the standalone host and vice versa. host.json
/// has an empty route prefix (the patient page is outside /api), so function routes are compared as written.
/// </summary>
public sealed class RouteParityTests
{
    [Fact]
    public async Task The_standalone_host_and_the_functions_app_serve_the_same_routes_and_methods()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration["AzureWebJobsStorage"] = "UseDevelopmentStorage=true";
        builder.Services.AddEngagementCore(builder.Configuration);
        builder.Services.AddStandaloneDurableEngine(builder.Configuration);
        await using var app = builder.Build();
        app.MapEngagementApi();

        var standalone = ((IEndpointRouteBuilder)app).DataSources
            .SelectMany(source => source.Endpoints)
            .OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["*"])
                .Select(m => $"{m} {Normalize(e.RoutePattern.RawText!)}"))
            .ToHashSet();
        var functions = FunctionBinding.LoadBuilt()
            .Where(f => f.TriggerType == "httpTrigger")
            .SelectMany(f => f.Methods.Select(m => $"{m} {Normalize(f.Route!)}"))
            .ToHashSet();

        Assert.NotEmpty(functions);
        Assert.Equal(functions.Order(), standalone.Order());
    }

    private static string Normalize(string route) => "/" + route.Trim('/').Replace("//", "/", StringComparison.Ordinal);
}
