using System.Text;
using Engagement.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engagement.Core.Tests.Http;

/// <summary>StaticAssets over a temporary folder with a secret file beside it.</summary>
public sealed class StaticAssetsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "static-assets-" + Guid.NewGuid().ToString("N"));
    private readonly StaticAssets _assets;

    public StaticAssetsTests()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "static", "app"));
        File.WriteAllText(Path.Combine(_dir, "static", "app", "page.js"), "console.log(1);");
        File.WriteAllText(Path.Combine(_dir, "static", "app", ".hidden.js"), "hidden");
        File.WriteAllText(Path.Combine(_dir, "static", "app", "notes.txt"), "text");
        File.WriteAllText(Path.Combine(_dir, "secret.js"), "SECRET");
        _assets = new StaticAssets(Path.Combine(_dir, "static"));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_file_is_served_with_its_type_nosniff_and_a_year_of_cache_when_the_hash_matches()
    {
        var url = _assets.Url("app/page.js");
        var version = url[(url.IndexOf("?v=", StringComparison.Ordinal) + 3)..];

        var (status, headers, body) = await GetAsync("app/page.js", "?v=" + version);
        var (_, stale, _) = await GetAsync("app/page.js", "?v=old");

        Assert.StartsWith("/static/app/page.js?v=", url, StringComparison.Ordinal);
        Assert.Equal(200, status);
        Assert.Equal("console.log(1);", body);
        Assert.Equal("text/javascript; charset=utf-8", headers.ContentType.ToString());
        Assert.Equal("nosniff", headers["X-Content-Type-Options"].ToString());
        Assert.Contains("immutable", headers.CacheControl.ToString(), StringComparison.Ordinal);
        Assert.Contains("max-age=300", stale.CacheControl.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../secret.js")]
    [InlineData("app/../../secret.js")]
    [InlineData("..\\secret.js")]
    [InlineData("/etc/passwd")]
    [InlineData("app/%2e%2e/%2e%2e/secret.js")]
    [InlineData("app/.hidden.js")]
    [InlineData("app/notes.txt")]
    [InlineData("app/missing.js")]
    [InlineData("app//page.js")]
    [InlineData("C:/secret.js")]
    [InlineData("")]
    public async Task Traversal_hidden_unknown_and_missing_paths_are_404(string path)
    {
        var (status, _, body) = await GetAsync(path, "");

        Assert.Equal(404, status);
        Assert.DoesNotContain("SECRET", body, StringComparison.Ordinal);
    }

    private async Task<(int Status, IHeaderDictionary Headers, string Body)> GetAsync(string path, string query)
    {
        var services = new ServiceCollection().AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance).BuildServiceProvider();
        var context = new DefaultHttpContext { RequestServices = services };
        context.Request.QueryString = new QueryString(query.Length == 0 ? null : query);
        using var body = new MemoryStream();
        context.Response.Body = body;
        var result = await _assets.GetAsync(context.Request, path, CancellationToken.None);
        await result.ExecuteAsync(context);
        return (context.Response.StatusCode, context.Response.Headers, Encoding.UTF8.GetString(body.ToArray()));
    }
}
