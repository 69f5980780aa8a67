using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Engagement.Security.Smart;

public static class SmartServiceCollectionExtensions
{
    /// <summary>SMART on FHIR bearer validation for <c>/api/fhir</c> and its public metadata routes.</summary>
    public static IServiceCollection AddSmartOnFhir(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<SmartOptions>().Bind(configuration.GetSection(SmartOptions.SectionName));
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpClient(SmartIssuerDirectory.HttpClientName, client =>
        {
            client.Timeout = TimeSpan.FromSeconds(10);
            client.MaxResponseContentBufferSize = 1024 * 1024;
        });
        services.AddSingleton<SmartIssuerDirectory>();
        services.AddSingleton<SmartTokenValidator>();
        services.AddSingleton<SmartAuthenticator>();
        services.AddSingleton<StaffAuthorizer>();
        services.AddSingleton<SmartMetadataHandler>();
        services.AddSingleton<SmartDiagnosticsHandler>();
        return services;
    }
}
