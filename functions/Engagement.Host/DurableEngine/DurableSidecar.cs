using System.Net;
using System.Net.Sockets;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Microsoft.Extensions.Options;

namespace Engagement.Host.DurableEngine;

/// <summary>
/// The Durable Task gRPC sidecar (<see cref="TaskHubGrpcServer"/>) over the Azure Storage backend Durable Functions
/// uses, hosted on its own HTTP/2 loopback Kestrel listener, separate from the app's HTTP pipeline.
/// Registered before the durable worker, so it starts first and stops last.
/// </summary>
internal sealed class DurableSidecar(
    SidecarEndpoint endpoint,
    IOptions<DurableEngineOptions> options,
    ILoggerFactory loggerFactory,
    IConfiguration configuration) : IHostedService, IAsyncDisposable
{
    private WebApplication? sidecar;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var service = CreateOrchestrationService(options.Value, configuration, loggerFactory);
        // Tables, queues and containers of the task hub must exist before the worker connects.
        await service.CreateIfNotExistsAsync();

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, endpoint.Port, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton<IOrchestrationService>(service);
        builder.Services.AddSingleton<IOrchestrationServiceClient>(service);
        builder.Services.AddSingleton<TaskHubGrpcServer>();
        sidecar = builder.Build();
        sidecar.MapGrpcService<TaskHubGrpcServer>();
        await sidecar.StartAsync(cancellationToken);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (sidecar is not null)
        {
            await sidecar.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (sidecar is not null)
        {
            await sidecar.DisposeAsync();
        }
    }

    internal static AzureStorageOrchestrationService CreateOrchestrationService(
        DurableEngineOptions options, IConfiguration configuration, ILoggerFactory loggerFactory)
    {
        var connectionString = configuration[Engagement.Hosting.ConfigurationKeys.Storage]
            ?? throw new InvalidOperationException("AzureWebJobsStorage is required.");
        var settings = new AzureStorageOrchestrationServiceSettings
        {
            StorageAccountClientProvider = new StorageAccountClientProvider(connectionString),
            TaskHubName = options.TaskHubName,
            WorkerId = options.WorkerId ?? $"{Environment.MachineName}-{options.TaskHubName}",
            PartitionCount = options.PartitionCount,
            MaxQueuePollingInterval = options.MaxQueuePollingInterval,
            LoggerFactory = loggerFactory,
        };
        return new AzureStorageOrchestrationService(settings);
    }
}

/// <summary>Where the sidecar listens; fixed at startup so the worker and client channels can be built.</summary>
internal sealed class SidecarEndpoint
{
    public SidecarEndpoint(int configuredPort)
    {
        Port = configuredPort > 0 ? configuredPort : FreeLoopbackPort();
        Address = new Uri($"http://127.0.0.1:{Port}");
    }

    public int Port { get; }

    public Uri Address { get; }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
