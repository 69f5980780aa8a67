using Engagement.Fhir;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Engagement.WriteBack;

public static class WriteBackServiceCollectionExtensions
{
    /// <summary>
    /// The resource store (Table Storage, with write-back to the EHRs that accept writes layered over it), the
    /// write-back table and the background dispatcher.
    /// </summary>
    public static IServiceCollection AddWriteBack(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<WriteBackOptions>().Bind(configuration.GetSection(WriteBackOptions.SectionName));
        services.AddSingleton<TableFhirResourceStore>();
        services.AddSingleton<WriteBackStore>();
        services.AddSingleton<WriteBackFhirResourceStore>();
        services.AddSingleton<IFhirResourceStore>(sp => sp.GetRequiredService<WriteBackFhirResourceStore>());
        services.AddSingleton<WriteBackDispatcher>();
        services.AddHostedService<WriteBackLoop>();
        return services;
    }
}
