using Engagement.Diagnostics.DurableProbe;
using Engagement.Durable;
using Engagement.Health;
using Engagement.Links;
using Engagement.Security;
using Engagement.Security.Smart;
using Engagement.Storage;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.Hosting;

public static class ServiceCollectionExtensions
{
    /// <summary>Registers the host-agnostic product: both hosts call this and nothing else to get the core.</summary>
    public static IServiceCollection AddEngagementCore(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<EngagementOptions>().Bind(configuration.GetSection(EngagementOptions.SectionName));
        services.AddSingleton<StorageClients>();
        services.AddSingleton<IStorageProbe, TableStorageProbe>();
        services.AddSingleton<AdminKeyAuthorizer>();
        services.AddSingleton<HealthHandler>();
        services.AddSingleton<ProbeStepStore>();
        services.AddSingleton<ProbeHandler>();
        services.AddEngagementLinks(configuration);
        services.AddSmartOnFhir(configuration);
        foreach (var activity in DurableTaskCatalog.Activities)
        {
            services.AddTransient(activity);
        }

        return services;
    }
}
