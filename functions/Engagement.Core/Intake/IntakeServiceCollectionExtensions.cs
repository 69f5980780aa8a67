using Engagement.Storage;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;

namespace Engagement.Intake;

public static class IntakeServiceCollectionExtensions
{
    /// <summary>Intake services shared by both hosts, including the sweeper (a hosted service).</summary>
    public static IServiceCollection AddIntake(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<IntakeOptions>().Bind(configuration.GetSection(IntakeOptions.SectionName));
        services.AddOptions<SourceMap>().Bind(configuration.GetSection(SourceOptions.SectionName));
        services.AddSingleton<SourceRegistry>();
        services.AddSingleton<InboundGate>();
        services.AddSingleton(sp => IntakeStorage.Create(sp.GetRequiredService<StorageClients>(), sp.GetRequiredService<IOptions<IntakeOptions>>(), configuration));
        if (IntakeStorage.IsOwnAccount(configuration.GetSection(IntakeOptions.SectionName)[nameof(IntakeOptions.StorageConnectionName)]))
        {
            // Health checks intake's own account as well.
            services.AddSingleton<IStorageProbe>(sp => new TableStorageProbe("intake storage", sp.GetRequiredService<IntakeStorage>().Clients));
        }
        services.AddSingleton<InboxStore>();
        services.AddSingleton<IntakeBacklog>();
        services.AddSingleton<IntakeRetries>();
        services.AddSingleton<IntakeQueue>();
        services.AddSingleton<EventJournal>();
        services.AddSingleton<SubscriptionStateStore>();
        services.AddSingleton<IntakeProcessor>();
        services.AddSingleton<IntakeHandler>();
        services.AddSingleton<SourceFhirClients>();
        services.TryAddSingleton<IEventRouter, LoggingEventRouter>();
        // One resilience pipeline (circuit breaker, rate limiter) per server, not one for every EHR: a hospital whose
        // server fails must not open the breaker for the others.
        services.AddHttpClient(SourceFhirClients.HttpClientName).AddStandardResilienceHandler().SelectPipelineByAuthority();
        // No retry of the token POST by the handler: a retry must carry a new assertion (SourceFhirClients retries).
        services.AddHttpClient(SourceFhirClients.TokenClientName)
            .AddStandardResilienceHandler(o => o.Retry.DisableForUnsafeHttpMethods()).SelectPipelineByAuthority();
        services.AddHostedService<IntakeEnqueuePump>();
        services.AddSingleton<IntakeSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<IntakeSweeper>());
        services.AddSingleton<IntakeRetention>();
        services.AddHostedService<IntakeRetentionLoop>();
        return services;
    }

    /// <summary>Standalone host only: the queue listener (the Functions app has a queue trigger).</summary>
    public static IServiceCollection AddIntakeQueueListener(this IServiceCollection services) =>
        services.AddHostedService<IntakeQueueListener>();
}
