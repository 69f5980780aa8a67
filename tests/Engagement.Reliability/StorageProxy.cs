using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Engagement.Integration.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Engagement.Reliability;

/// <summary>
/// A counting reverse proxy in front of Azurite: one loopback port per service (blob, queue, table), each forwarding
/// every request unchanged (raw path and query, headers, body — so the SharedKey signatures still match) to Azurite's
/// port, and recording what the request was: service, method, resource (table, queue or container name only — keys,
/// message ids, blob names and bodies are never kept, so nothing identifying is recorded), operation, status, time.
/// Give the host <see cref="ConnectionString"/> and every storage request it makes is counted.
/// </summary>
public sealed partial class StorageProxy : IAsyncDisposable
{
    private readonly ConcurrentQueue<StorageRequest> requests = new();
    private readonly Dictionary<int, (string Service, Uri Upstream)> routes = [];
    private readonly List<(string Name, string Placeholder)> names = [];
    private readonly HttpClient upstream = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        AutomaticDecompression = DecompressionMethods.None,
        UseProxy = false,
        MaxConnectionsPerServer = 256,
    })
    { Timeout = TimeSpan.FromSeconds(100) };

    private WebApplication? app;
    private int failures;

    /// <summary>Builds the proxy for the Azurite behind <paramref name="azuriteConnectionString"/> (explicit endpoints, as scripts/azurite.sh prints).</summary>
    public StorageProxy(string azuriteConnectionString)
    {
        var parts = azuriteConnectionString.Split(';', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : string.Empty, StringComparer.OrdinalIgnoreCase);
        var rewritten = azuriteConnectionString;
        var ports = new Queue<int>(TestEnvironment.FreeTcpPorts(3));
        foreach (var service in (string[])["Blob", "Queue", "Table"])
        {
            var endpoint = new Uri(parts[service + "Endpoint"]);
            var port = ports.Dequeue();
            routes[port] = (service.ToLowerInvariant(), new Uri($"{endpoint.Scheme}://{endpoint.Authority}"));
            rewritten = rewritten.Replace($"{service}Endpoint={endpoint.Scheme}://{endpoint.Authority}", $"{service}Endpoint=http://127.0.0.1:{port}", StringComparison.Ordinal);
        }

        ConnectionString = rewritten;
    }

    /// <summary>The connection string to give the host: Azurite's, with the proxy's ports.</summary>
    public string ConnectionString { get; }

    /// <summary>Requests that could not be forwarded (the host got a 502 for them); a sound measurement has none.</summary>
    public int Failures => failures;

    /// <summary>Every request recorded so far, in arrival order.</summary>
    public IReadOnlyList<StorageRequest> Requests => [.. requests];

    /// <summary>
    /// Resource names that carry a run-specific part (task hub name, a per-host table or queue suffix) are recorded
    /// with a placeholder instead, so figures of different runs compare.
    /// </summary>
    public void Name(string actual, string placeholder) => names.Add((actual, placeholder));

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = null;
            foreach (var port in routes.Keys)
            {
                kestrel.Listen(IPAddress.Loopback, port);
            }
        });
        app = builder.Build();
        app.Run(ForwardAsync);
        await app.StartAsync();
    }

    private async Task ForwardAsync(HttpContext context)
    {
        var at = DateTimeOffset.UtcNow;
        var (service, target) = routes[context.Connection.LocalPort];
        var rawTarget = context.Features.Get<IHttpRequestFeature>()!.RawTarget;
        var request = context.Request;
        byte[] body = [];
        if (request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, context.RequestAborted);
            body = buffer.ToArray();
        }

        using var message = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(target, rawTarget));
        var contentHeaders = new List<KeyValuePair<string, Microsoft.Extensions.Primitives.StringValues>>();
        foreach (var header in request.Headers)
        {
            if (header.Key is "Host" or "Content-Length" or "Transfer-Encoding" or "Connection" or "Keep-Alive" or "Expect")
            {
                continue;
            }

            if (header.Key.StartsWith("Content-", StringComparison.OrdinalIgnoreCase))
            {
                contentHeaders.Add(header);
            }
            else
            {
                message.Headers.TryAddWithoutValidation(header.Key, (IEnumerable<string?>)header.Value);
            }
        }

        if (body.Length > 0 || contentHeaders.Count > 0 || request.ContentLength == 0)
        {
            message.Content = new ByteArrayContent(body);
            message.Content.Headers.ContentType = null;
            foreach (var header in contentHeaders)
            {
                message.Content.Headers.TryAddWithoutValidation(header.Key, (IEnumerable<string?>)header.Value);
            }
        }

        int status;
        var recorded = false;
        byte[] answer;
        try
        {
            using var response = await upstream.SendAsync(message, HttpCompletionOption.ResponseContentRead, context.RequestAborted);
            answer = await response.Content.ReadAsByteArrayAsync(context.RequestAborted);
            status = (int)response.StatusCode;
            context.Response.StatusCode = status;
            foreach (var header in response.Headers)
            {
                if (header.Key is not ("Transfer-Encoding" or "Connection" or "Keep-Alive"))
                {
                    context.Response.Headers[header.Key] = header.Value.ToArray();
                }
            }

            foreach (var header in response.Content.Headers)
            {
                if (header.Key != "Content-Length")
                {
                    context.Response.Headers[header.Key] = header.Value.ToArray();
                }
            }

            if (HttpMethods.IsHead(request.Method))
            {
                context.Response.ContentLength = response.Content.Headers.ContentLength;
            }
            else if (status is not (204 or 304))
            {
                context.Response.ContentLength = answer.Length;
                // Recorded before the answer is written: a caller that has its answer finds its request counted.
                requests.Enqueue(Classify(at, service, request.Method, rawTarget, request.Headers, body, status, answer));
                recorded = true;
                await context.Response.Body.WriteAsync(answer, context.RequestAborted);
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
        {
            Interlocked.Increment(ref failures);
            status = 502;
            answer = [];
            if (!context.Response.HasStarted)
            {
                context.Response.StatusCode = 502;
            }
        }

        if (!recorded)
        {
            // The answer (headers only, or the 502) goes out when this handler returns: recorded before that too.
            requests.Enqueue(Classify(at, service, request.Method, rawTarget, request.Headers, body, status, answer));
        }
    }

    private StorageRequest Classify(DateTimeOffset at, string service, string method, string rawTarget, IHeaderDictionary headers, byte[] body, int status, byte[] answer)
    {
        var queryStart = rawTarget.IndexOf('?', StringComparison.Ordinal);
        var path = Uri.UnescapeDataString(queryStart < 0 ? rawTarget : rawTarget[..queryStart]);
        var query = queryStart < 0 ? string.Empty : Uri.UnescapeDataString(rawTarget[queryStart..]);
        // Path style: /{account}/{resource}/...
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Skip(1).ToArray();
        var first = segments.Length > 0 ? segments[0] : string.Empty;
        string resource;
        string operation;
        var text = Encoding.UTF8.GetString(answer);
        switch (service)
        {
            case "table":
                if (first.StartsWith("Tables", StringComparison.Ordinal))
                {
                    resource = method == "POST" ? TableNameIn(body) : first.Length > 6 ? first[8..^2] : "(tables)";
                    operation = method switch { "POST" => "create-table", "DELETE" => "delete-table", _ => "list-tables" };
                }
                else if (first == "$batch")
                {
                    resource = BatchTable().Match(Encoding.UTF8.GetString(body)) is { Success: true } m ? m.Groups[1].Value : "(batch)";
                    operation = "batch";
                }
                else
                {
                    var keyed = first.Contains('(', StringComparison.Ordinal) && first.Contains("PartitionKey", StringComparison.Ordinal);
                    resource = first.Split('(')[0];
                    operation = method switch
                    {
                        "GET" when keyed => "read",
                        "GET" => text.Contains("\"value\":[]", StringComparison.Ordinal) ? "query(empty)" : "query",
                        "POST" => "insert",
                        "PUT" => "upsert",
                        "PATCH" or "MERGE" => "merge",
                        "DELETE" => "delete",
                        _ => method.ToLowerInvariant(),
                    };
                }

                break;
            case "queue":
                resource = first.Length > 0 ? first : "(queues)";
                var messages = segments.Length > 1 && segments[1] == "messages";
                var keyedMessage = segments.Length > 2;
                operation = (method, messages, keyedMessage) switch
                {
                    ("GET", true, _) when query.Contains("peekonly=true", StringComparison.OrdinalIgnoreCase) => text.Contains("<QueueMessage>", StringComparison.Ordinal) ? "peek" : "peek(empty)",
                    ("GET", true, _) => text.Contains("<QueueMessage>", StringComparison.Ordinal) ? "dequeue" : "dequeue(empty)",
                    ("POST", true, _) => "enqueue",
                    ("DELETE", true, true) => "delete-message",
                    ("DELETE", true, false) => "clear-messages",
                    ("PUT", true, _) => "update-message",
                    ("PUT", false, _) when query.Contains("comp=metadata", StringComparison.Ordinal) => "set-metadata",
                    ("PUT", false, _) => "create-queue",
                    ("GET" or "HEAD", false, _) when query.Contains("comp=list", StringComparison.Ordinal) => "list-queues",
                    ("GET" or "HEAD", false, _) => "get-properties",
                    ("DELETE", false, _) => "delete-queue",
                    _ => method.ToLowerInvariant(),
                };
                break;
            default:
                resource = first.Length > 0 ? first : "(containers)";
                var isContainer = query.Contains("restype=container", StringComparison.Ordinal);
                operation = query.Contains("comp=lease", StringComparison.Ordinal)
                    ? "lease-" + (headers["x-ms-lease-action"].ToString() is { Length: > 0 } action ? action : "?")
                    : (method, isContainer) switch
                    {
                        ("GET", true) when query.Contains("comp=list", StringComparison.Ordinal) => "list-blobs",
                        ("PUT", true) => "create-container",
                        ("DELETE", true) => "delete-container",
                        (_, true) => "container-properties",
                        ("GET", false) when first.Length == 0 => "list-containers",
                        ("GET", false) => "read-blob",
                        ("HEAD", false) => "blob-properties",
                        ("PUT", false) when query.Contains("comp=metadata", StringComparison.Ordinal) => "set-blob-metadata",
                        ("PUT", false) => "write-blob",
                        ("DELETE", false) => "delete-blob",
                        _ => method.ToLowerInvariant(),
                    };
                break;
        }

        if (status is >= 300 and not 304)
        {
            operation += $" {status}";
        }

        return new StorageRequest(at, service, method, Normalize(resource), operation, status);
    }

    private string Normalize(string resource)
    {
        foreach (var (name, placeholder) in names)
        {
            resource = resource.Replace(name, placeholder, StringComparison.OrdinalIgnoreCase);
        }

        return resource;
    }

    private static string TableNameIn(byte[] body)
    {
        try
        {
            return JsonDocument.Parse(body).RootElement.GetProperty("TableName").GetString() ?? "(table)";
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return "(table)";
        }
    }

    [GeneratedRegex(@"/devstoreaccount1/([A-Za-z][A-Za-z0-9]{2,62})[(? ]")]
    private static partial Regex BatchTable();

    public async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.DisposeAsync();
        }

        upstream.Dispose();
    }
}

/// <summary>One storage request the host made: no keys, ids or bodies.</summary>
public sealed record StorageRequest(DateTimeOffset At, string Service, string Method, string Resource, string Operation, int Status)
{
    /// <summary>The durable engine's own storage: its task hub's tables, queues and containers.</summary>
    public bool IsEngine => Resource.Contains(EngineMarker, StringComparison.Ordinal);

    /// <summary>What the task hub's name is recorded as (its production default).</summary>
    public const string EngineMarker = "EngagementHub";

    public string Key => $"{Service} {Resource} {Operation}";
}
