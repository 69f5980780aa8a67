using Engagement.Diagnostics;
using Engagement.Links.AzureStorage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Engagement.Links;

public static class LinksServiceCollectionExtensions
{
    /// <summary>Engagement links: keys, the <c>Links</c> table, issuer, validator, the page and API handlers (questionnaire, preferences, overview).</summary>
    public static IServiceCollection AddEngagementLinks(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<LinkOptions>().Bind(configuration.GetSection(LinkOptions.SectionName));
        services.AddOptions<DiagnosticsOptions>().Bind(configuration.GetSection(DiagnosticsOptions.SectionName));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IQuestionnaireTitles, DefinitionQuestionnaireTitles>();
        services.AddSingleton<ILinkStore, TableLinkStore>();
        services.AddSingleton<LinkKeyRing>();
        services.AddSingleton<LinkIssuer>();
        services.AddSingleton<LinkValidator>();
        services.TryAddSingleton<Engagement.Http.StaticAssets>();
        services.AddSingleton<EngageHandler>();
        // The patient's preferences and follow-ups through the same link (Preferences/).
        services.AddSingleton<Engagement.Preferences.PatientPreferenceUpdater>();
        services.AddSingleton<Engagement.Preferences.EngagementOverview>();
        services.AddSingleton<Engagement.Preferences.PreferencesHandler>();
        services.AddSingleton<LinkDiagnosticsHandler>();
        return services;
    }
}
