using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Engagement.Http;

/// <summary>
/// <c>GET /static/{*path}</c> in both hosts: the files under <c>static/</c> beside the binaries (the LHC-Forms web
/// component copied from node_modules at build time, and the engagement page's own script and styles). Pages link
/// them with <see cref="Url"/>, which appends a content hash (<c>?v=</c>): a request carrying the current hash is
/// cached for a year as immutable, anything else for five minutes. Only known file types below the static folder are
/// served; everything else (traversal, hidden, unknown types) is a plain 404.
/// </summary>
public sealed class StaticAssets
{
    public const string RoutePrefix = "/static/";

    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".png"] = "image/png",
        [".svg"] = "image/svg+xml",
        [".ico"] = "image/x-icon",
        [".woff2"] = "font/woff2",
    };

    private readonly string _root;
    private readonly ConcurrentDictionary<string, string> _hashes = new(StringComparer.Ordinal);

    public StaticAssets()
        : this(Path.Combine(AppContext.BaseDirectory, "static"))
    {
    }

    public StaticAssets(string root)
    {
        ArgumentNullException.ThrowIfNull(root);
        _root = Path.GetFullPath(root);
    }

    /// <summary>The URL of a static file with its content hash, e.g. <c>/static/engage/engage.js?v=1a2b…</c>.</summary>
    public string Url(string relativePath)
    {
        var file = Resolve(relativePath) ?? throw new FileNotFoundException("Static asset not found (was the build run after npm ci?).", relativePath);
        return RoutePrefix + relativePath + "?v=" + Hash(file);
    }

    public async Task<IResult> GetAsync(HttpRequest request, string? path, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var file = Resolve(path);
        if (file is null)
        {
            return Results.NotFound();
        }

        var hash = Hash(file);
        var headers = request.HttpContext.Response.GetTypedHeaders();
        request.HttpContext.Response.Headers[HeaderNames.XContentTypeOptions] = "nosniff";
        headers.CacheControl = request.Query["v"] == hash
            ? new CacheControlHeaderValue { Public = true, MaxAge = TimeSpan.FromDays(365), Extensions = { new NameValueHeaderValue("immutable") } }
            : new CacheControlHeaderValue { Public = true, MaxAge = TimeSpan.FromMinutes(5) };
        var etag = new EntityTagHeaderValue("\"" + hash + "\"");
        if (request.GetTypedHeaders().IfNoneMatch is { Count: > 0 } ifNoneMatch && ifNoneMatch.Any(e => e.Compare(etag, useStrongComparison: false)))
        {
            headers.ETag = etag;
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        var bytes = await File.ReadAllBytesAsync(file, cancellationToken);
        return Results.File(bytes, ContentTypes[Path.GetExtension(file)], entityTag: etag);
    }

    /// <summary>The full path of a servable file, or null: no traversal, no hidden segments, known types only.</summary>
    private string? Resolve(string? relativePath)
    {
        if (string.IsNullOrEmpty(relativePath) || relativePath.Length > 200 || relativePath.Contains('\\', StringComparison.Ordinal)
            || relativePath.Contains(':', StringComparison.Ordinal) || relativePath.Contains('\0', StringComparison.Ordinal) || relativePath.StartsWith('/'))
        {
            return null;
        }

        var segments = relativePath.Split('/');
        if (segments.Any(s => s.Length == 0 || s[0] == '.' || s.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))))
        {
            return null;
        }

        if (!ContentTypes.ContainsKey(Path.GetExtension(relativePath)))
        {
            return null;
        }

        var full = Path.GetFullPath(Path.Combine(_root, Path.Combine(segments)));
        return full.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal) && File.Exists(full) ? full : null;
    }

    private string Hash(string file) => _hashes.GetOrAdd(file, static f =>
    {
        using var stream = File.OpenRead(f);
        return Convert.ToHexStringLower(SHA256.HashData(stream))[..16];
    });
}
