using System.Net;
using System.Net.Sockets;
using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Grpc.Net.Client;
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
        builder.WebHost.ConfigureKestrel(endpoint.Listen);
        builder.Services.AddGrpc();
        builder.Services.AddSingleton<IOrchestrationService>(service);
        builder.Services.AddSingleton<IOrchestrationServiceClient>(service);
        builder.Services.AddSingleton<TaskHubGrpcServer>();
        var app = builder.Build();
        app.MapGrpcService<TaskHubGrpcServer>();
        await app.StartAsync(cancellationToken);
        sidecar = app;
        logger.LogInformation("Durable sidecar listening on {Address}", endpoint.Description);
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

        endpoint.RemoveSocket();
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

/// <summary>
/// Where the sidecar listens; fixed at startup so the worker and client channels can be built. With no port configured,
/// a Unix domain socket of this process's own (a new file name per start): a loopback TCP port chosen ahead of the bind
/// can be handed to any outgoing connection in between — the task hub's creation opens many — and the host then fails
/// to start with "address already in use".
/// </summary>
internal sealed class SidecarEndpoint
{
    private const string SocketPrefix = "engagement-durable-";

    public SidecarEndpoint(int configuredPort)
    {
        if (configuredPort > 0)
        {
            Port = configuredPort;
            Address = new Uri($"http://127.0.0.1:{configuredPort}");
        }
        else
        {
            RemoveStaleSockets();
            SocketPath = Path.Combine(Path.GetTempPath(), $"{SocketPrefix}{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}.sock");
            Address = new Uri("http://localhost"); // the authority gRPC sends; the connection goes to the socket
        }
    }

    /// <summary>The configured loopback port, or null when the sidecar is on <see cref="SocketPath"/>.</summary>
    public int? Port { get; }

    public string? SocketPath { get; }

    public Uri Address { get; }

    /// <summary>Where the log says the sidecar is.</summary>
    public string Description => SocketPath is null ? Address.ToString() : "unix:" + SocketPath;

    public void Listen(KestrelServerOptions kestrel)
    {
        if (SocketPath is null)
        {
            kestrel.Listen(IPAddress.Loopback, Port!.Value, listen => listen.Protocols = HttpProtocols.Http2);
        }
        else
        {
            kestrel.ListenUnixSocket(SocketPath, listen => listen.Protocols = HttpProtocols.Http2);
        }
    }

    /// <summary>The channel the worker and the client share.</summary>
    public GrpcChannel CreateChannel()
    {
        if (SocketPath is null)
        {
            return GrpcChannel.ForAddress(Address);
        }

        var socketPath = SocketPath;
        return GrpcChannel.ForAddress(Address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                // As the handler GrpcChannel builds when given none: more connections once one has as many concurrent
                // streams as the server allows (Kestrel: 100), instead of queueing calls behind the worker's streams.
                EnableMultipleHttp2Connections = true,
                ConnectCallback = async (_, cancellationToken) =>
                {
                    var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    try
                    {
                        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                        return new NetworkStream(socket, ownsSocket: true);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                },
            },
        });
    }

    /// <summary>Removes this process's socket file (Kestrel leaves it behind).</summary>
    public void RemoveSocket()
    {
        if (SocketPath is not null)
        {
            TryDelete(SocketPath);
        }
    }

    /// <summary>Socket files of sidecars whose process is gone (killed, so it could not remove its own).</summary>
    private static void RemoveStaleSockets()
    {
        foreach (var file in Directory.EnumerateFiles(Path.GetTempPath(), SocketPrefix + "*.sock"))
        {
            var name = Path.GetFileNameWithoutExtension(file)[SocketPrefix.Length..];
            if (int.TryParse(name.Split('-')[0], System.Globalization.CultureInfo.InvariantCulture, out var pid) && !IsRunning(pid))
            {
                TryDelete(file);
            }
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (IOException)
        {
            // in use or gone: leave it
        }
        catch (UnauthorizedAccessException)
        {
            // another user's: leave it
        }
    }
}
