using System.Text;
using Engagement.Links;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engagement.Core.Tests.Links;

public sealed class EngagementPageTests
{
    [Theory]
    [InlineData(null, "en")]
    [InlineData("es", "es")]
    [InlineData("es-MX,es;q=0.9", "es")]
    [InlineData("en-US,en;q=0.9,es;q=0.8", "en")]
    [InlineData("fr-FR,es;q=0.5", "es")]
    [InlineData("de", "en")]
    [InlineData("es;q=0, en;q=0.1", "en")]
    public void The_page_language_follows_accept_language(string? header, string expected)
    {
        var context = new DefaultHttpContext();
        if (header is not null)
        {
            context.Request.Headers.AcceptLanguage = header;
        }

        Assert.Equal(expected, EngagementPage.ChooseLanguage(context.Request));
    }

    [Theory]
    [InlineData(LinkFailure.Forged, 401)]
    [InlineData(LinkFailure.Unknown, 410)]
    [InlineData(LinkFailure.Expired, 410)]
    [InlineData(LinkFailure.Revoked, 410)]
    [InlineData(LinkFailure.Used, 410)]
    public async Task Failure_pages_are_401_for_forged_and_410_otherwise_never_cached_and_never_referred(LinkFailure failure, int status)
    {
        var (code, headers, body) = await RenderAsync(EngagementPage.Failure(failure, "en"));

        Assert.Equal(status, code);
        Assert.Equal("no-store", headers.CacheControl.ToString());
        Assert.Equal("no-referrer", headers["Referrer-Policy"].ToString());
        Assert.StartsWith("text/html", headers.ContentType.ToString(), StringComparison.Ordinal);
        Assert.Contains("<html lang=\"en\">", body, StringComparison.Ordinal);
        Assert.Contains("name=\"viewport\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_spanish_failure_page_is_in_spanish()
    {
        var (_, headers, body) = await RenderAsync(EngagementPage.Failure(LinkFailure.Expired, "es"));

        Assert.Contains("<html lang=\"es\">", body, StringComparison.Ordinal);
        Assert.Contains("Este enlace ha vencido", body, StringComparison.Ordinal);
        Assert.Contains("comuníquese con su equipo de atención", body, StringComparison.Ordinal);
        Assert.Equal("es", headers.ContentLanguage.ToString());
    }

    [Fact]
    public async Task The_questionnaire_title_is_html_encoded()
    {
        var (code, _, body) = await RenderAsync(EngagementPage.Questionnaire("<script>alert(1)</script>", "en", new Engagement.Http.StaticAssets()));

        Assert.Equal(200, code);
        Assert.DoesNotContain("<script>", body, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;", body, StringComparison.Ordinal);
    }

    private static async Task<(int Status, IHeaderDictionary Headers, string Body)> RenderAsync(IResult result)
    {
        var services = new ServiceCollection().AddSingleton<ILoggerFactory>(NullLoggerFactory.Instance).BuildServiceProvider();
        var context = new DefaultHttpContext { RequestServices = services };
        using var body = new MemoryStream();
        context.Response.Body = body;
        await result.ExecuteAsync(context);
        return (context.Response.StatusCode, context.Response.Headers, Encoding.UTF8.GetString(body.ToArray()));
    }
}
