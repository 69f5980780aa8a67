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
    private static readonly TimeSpan CreateTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(2);
    private readonly CancellationTokenSource stopping = new();
    private readonly ILogger logger = loggerFactory.CreateLogger<DurableSidecar>();
    private WebApplication? sidecar;
    private Task? background;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var service = CreateOrchestrationService(options.Value, configuration, loggerFactory);
        // The task hub's tables, queues and containers must exist before the worker connects. When storage is
        // down at start, the host still serves (health says 503) and the sidecar comes up once storage answers.
        if (await TryCreateTaskHubAsync(service))
        {
            await StartSidecarAsync(service, cancellationToken);
            return;
        }

        background = Task.Run(async () =>
        {
            while (!stopping.IsCancellationRequested)
            {
                await Task.Delay(RetryDelay, stopping.Token).ConfigureAwait(false);
                if (await TryCreateTaskHubAsync(service))
                {
                    await StartSidecarAsync(service, stopping.Token);
                    return;
                }
            }
        }, CancellationToken.None);
    }

    private async Task<bool> TryCreateTaskHubAsync(AzureStorageOrchestrationService service)
    {
        try
        {
            var create = service.CreateIfNotExistsAsync();
            if (await Task.WhenAny(create, Task.Delay(CreateTimeout, stopping.Token)) == create)
            {
                await create;
                return true;
            }

            logger.LogWarning("Durable task hub storage did not answer within {Timeout}; retrying.", CreateTimeout);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning("Durable task hub storage is not reachable ({ExceptionType}); retrying.", ex.GetType().Name);
        }

        return false;
    }

    private async Task StartSidecarAsync(AzureStorageOrchestrationService service, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, endpoint.Port, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton<IOrchestrationService>(service);
        builder.Services.AddSingleton<IOrchestrationServiceClient>(service);
        builder.Services.AddSingleton<TaskHubGrpcServer>();
        var app = builder.Build();
        app.MapGrpcService<TaskHubGrpcServer>();
        await app.StartAsync(cancellationToken);
        sidecar = app;
        logger.LogInformation("Durable sidecar listening on {Address}", endpoint.Address);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await stopping.CancelAsync();
        if (background is not null)
        {
            try
            {
                await background;
            }
            catch (OperationCanceledException)
            {
                // stopping before storage came back
            }
        }

        if (sidecar is not null)
        {
            await sidecar.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        stopping.Dispose();
        if (sidecar is not null)
        {
            await sidecar.DisposeAsync();
        }
    }

    internal static AzureStorageOrchestrationService CreateOrchestrationService(
        DurableEngineOptions options, IConfiguration configuration, ILoggerFactory loggerFactory)
    {
        var connectionString = configuration[options.StorageConnectionName]
            ?? throw new InvalidOperationException($"{options.StorageConnectionName} is required: the durable task hub's storage connection.");
        var settings = new AzureStorageOrchestrationServiceSettings
        {
            StorageAccountClientProvider = new StorageAccountClientProvider(connectionString),
            TaskHubName = options.TaskHubName,
            WorkerId = options.WorkerId ?? $"{Environment.MachineName}-{options.TaskHubName}",
            PartitionCount = options.PartitionCount,
            MaxQueuePollingInterval = options.MaxQueuePollingInterval,
            ControlQueueVisibilityTimeout = options.MessageVisibilityTimeout,
            WorkItemQueueVisibilityTimeout = options.MessageVisibilityTimeout,
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
