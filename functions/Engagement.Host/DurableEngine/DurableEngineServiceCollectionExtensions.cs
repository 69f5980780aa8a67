using Engagement.Durable;
using Grpc.Net.Client;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;

namespace Engagement.Host.DurableEngine;

public static class DurableEngineServiceCollectionExtensions
{
    /// <summary>
    /// The standalone host's durable engine: sidecar over Azure Storage, then the worker running
    /// <see cref="DurableTaskCatalog"/> and a client, both over gRPC to the sidecar.
    /// </summary>
    public static IServiceCollection AddStandaloneDurableEngine(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(DurableEngineOptions.SectionName);
        services.AddOptions<DurableEngineOptions>().Bind(section);
        var endpoint = new SidecarEndpoint(section.GetValue<int>(nameof(DurableEngineOptions.SidecarPort)));
        services.AddSingleton(endpoint);
        var channel = endpoint.CreateChannel();
        services.AddSingleton(channel);

        // Order matters: hosted services start in registration order and stop in reverse, so the worker stops
        // before the sidecar (otherwise shutdown waits ~30 s on the worker's open stream).
        services.AddHostedService<DurableSidecar>();
        services.AddDurableTaskWorker(builder =>
        {
            builder.AddTasks(DurableTaskCatalog.Register);
            builder.UseGrpc(channel);
        });
        services.AddDurableTaskClient(builder =>
        {
            builder.UseGrpc(channel);
            builder.RegisterDirectly();
        });
        services.AddSingleton<IDurableClientAccessor, ServiceProviderDurableClientAccessor>();
        return services;
    }
}
