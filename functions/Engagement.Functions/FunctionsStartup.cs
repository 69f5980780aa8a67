using Engagement.Hosting;
using Engagement.Telemetry;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Functions;

/// <summary>The worker's services: the core and nothing else. Tests build this collection to validate DI.</summary>
public static class FunctionsStartup
{
    public static void ConfigureServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddEngagementCore(configuration);
        services.AddSingleton<Engagement.Durable.IDurableClientAccessor, Engagement.Durable.InvocationDurableClientAccessor>();
        // Azure Monitor when APPLICATIONINSIGHTS_CONNECTION_STRING is set; the worker's own spans join the host's trace.
        services.AddEngagementTelemetry(configuration).UseFunctionsWorkerDefaults();
    }
}
