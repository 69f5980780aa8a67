using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Engagement.FollowUp.Engine;

public static class FollowUpServiceCollectionExtensions
{
    /// <summary>The follow-up engine: protocol catalog, starter, the orchestration's collaborators, the care-team routes.</summary>
    public static IServiceCollection AddFollowUp(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PreferenceDefaults>().Bind(configuration.GetSection(PreferenceDefaults.SectionName));
        services.AddOptions<DurableRetentionOptions>().Bind(configuration.GetSection(PreferenceDefaults.SectionName));
        services.AddOptions<FollowUpStartOptions>().Bind(configuration.GetSection(PreferenceDefaults.SectionName));
        services.AddSingleton<DurableRetention>();
        services.AddHostedService<DurableRetentionLoop>();
        services.AddSingleton<FollowUpIndex>();
        services.AddSingleton<IPatientDirectory, StoredPatientDirectory>();
        services.AddSingleton<IOutreachConsent, StoredOutreachConsent>();
        services.AddSingleton<IFollowUpLinks, LinkIssuerFollowUpLinks>();
        services.AddSingleton<FollowUpStarter>();
        services.AddSingleton<FollowUpHandler>();
        services.AddSingleton<EhrTaskUpdates>();
        // Intake hands its events here (registered before intake's logging default).
        services.AddSingleton<Engagement.Intake.IEventRouter, FollowUpEventRouter>();
        services.TryAddSingleton<Engagement.Durable.IDurableClientAccessor, Engagement.Durable.ServiceProviderDurableClientAccessor>();
        return services;
    }
}
