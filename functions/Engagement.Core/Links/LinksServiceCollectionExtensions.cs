using Engagement.Diagnostics;
using Engagement.Links.AzureStorage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Engagement.Links;

public static class LinksServiceCollectionExtensions
{
    /// <summary>Engagement links: keys, the <c>Links</c> table, issuer, validator, the page and API handlers.</summary>
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
        services.AddSingleton<LinkDiagnosticsHandler>();
        return services;
    }
}
