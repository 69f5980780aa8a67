using Engagement.Fhir;
using Engagement.Measures.AzureStorage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Engagement.Measures;

public static class MeasuresServiceCollectionExtensions
{
    /// <summary>Engagement measures: the event log and aggregates (Table Storage), the recorder, MeasureReport, metrics JSON and dashboard.</summary>
    public static IServiceCollection AddEngagementMeasures(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<MeasuresOptions>().Bind(configuration.GetSection(MeasuresOptions.Section));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<TableEngagementStore>();
        services.AddSingleton<IEngagementRecorder>(sp => sp.GetRequiredService<TableEngagementStore>());
        services.AddSingleton<EngagementMetrics>();
        services.AddSingleton<IFhirResourceObserver, TaskAcknowledgementObserver>();
        services.AddSingleton<MeasuresHandler>();
        services.AddSingleton<DashboardHandler>();
        return services;
    }
}
