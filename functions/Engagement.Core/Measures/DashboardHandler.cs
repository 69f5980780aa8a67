using System.Reflection;
using Microsoft.AspNetCore.Http;

namespace Engagement.Measures;

/// <summary>
/// <c>GET /dashboard</c> and <c>GET /dashboard/assets/{name}</c>: the care team's engagement dashboard. The page carries
/// no data and no secret: it asks for the admin key, keeps it in sessionStorage and calls
/// <c>/api/metrics/engagement</c> with <c>X-Admin-Key</c>. Scripts and styles (chart.js included, from npm, embedded at
/// build) come from our own assets under a strict Content-Security-Policy: no inline code, no CDN.
/// </summary>
public sealed class DashboardHandler
{
    public const string PageRoute = "/dashboard";
    public const string AssetRoute = "/dashboard/assets/{name}";

    internal const string Csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

    private static readonly Dictionary<string, (string Resource, string ContentType)> Assets = new(StringComparer.Ordinal)
    {
        ["dashboard.js"] = ("Engagement.Measures.Dashboard.dashboard.js", "text/javascript; charset=utf-8"),
        ["dashboard.css"] = ("Engagement.Measures.Dashboard.dashboard.css", "text/css; charset=utf-8"),
        ["chart.umd.min.js"] = ("Engagement.Measures.Dashboard.chart.umd.min.js", "text/javascript; charset=utf-8"),
    };

    private readonly Dictionary<string, byte[]> loaded = Load();

    public IResult Page() => new AssetResult(loaded["index.html"], "text/html; charset=utf-8", cache: false);

    public IResult Asset(string name) =>
        Assets.TryGetValue(name ?? "", out var asset) && loaded.TryGetValue(name!, out var bytes)
            ? new AssetResult(bytes, asset.ContentType, cache: true)
            : Results.NotFound();

    private static Dictionary<string, byte[]> Load()
    {
        var loaded = new Dictionary<string, byte[]>(StringComparer.Ordinal)
        {
            ["index.html"] = Read("Engagement.Measures.Dashboard.index.html") ?? throw new InvalidOperationException("The dashboard page is not embedded."),
        };
        foreach (var (name, asset) in Assets)
        {
            if (Read(asset.Resource) is { } bytes)
            {
                loaded[name] = bytes;
            }
        }

        return loaded;
    }

    private static byte[]? Read(string resource)
    {
        using var stream = typeof(DashboardHandler).Assembly.GetManifestResourceStream(resource);
        if (stream is null)
        {
            return null;
        }

        using var memory = new MemoryStream();
        stream.CopyTo(memory);
        return memory.ToArray();
    }

    private sealed class AssetResult(byte[] body, string contentType, bool cache) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.ContentType = contentType;
            response.Headers.ContentSecurityPolicy = Csp;
            response.Headers.XContentTypeOptions = "nosniff";
            response.Headers["Referrer-Policy"] = "no-referrer";
            response.Headers.CacheControl = cache ? "public, max-age=3600" : "no-store";
            response.ContentLength = body.Length;
            await response.Body.WriteAsync(body, httpContext.RequestAborted);
        }
    }
}
