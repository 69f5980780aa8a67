using System.Net;
using System.Text;
using Engagement.Testing.Smart;

namespace Engagement.Core.Tests.Smart;

/// <summary>An authorization server behind an <see cref="HttpMessageHandler"/>: discovery document and JWKS, with counters.</summary>
internal sealed class StubIssuer : HttpMessageHandler, IHttpClientFactory
{
    public const string Issuer = "https://ehr.example.org/auth";
    public const string Audience = "https://engage.example.org/api/fhir";

    public List<TestSigningKey> Keys { get; } = [];

    public List<Dictionary<string, string>> ExtraJwks { get; } = [];

    public bool ServeOpenIdConfiguration { get; set; } = true;

    public bool Down { get; set; }

    public int JwksRequests { get; private set; }

    public HttpClient CreateClient(string name) => new(this, disposeHandler: false);

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var url = request.RequestUri!.ToString();
        if (Down)
        {
            throw new HttpRequestException("connection refused");
        }

        if (url == Issuer + "/jwks")
        {
            JwksRequests++;
            return Json(SmartTestTokens.Jwks(Keys, ExtraJwks));
        }

        if ((url == Issuer + "/.well-known/openid-configuration" && ServeOpenIdConfiguration) || url == Issuer + "/.well-known/smart-configuration")
        {
            return Json(SmartTestTokens.Discovery(Issuer, Issuer + "/jwks"));
        }

        return Task.FromResult(new HttpResponseMessage(HttpStatusCode.NotFound));
    }

    private static Task<HttpResponseMessage> Json(string json) =>
        Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(json, Encoding.UTF8, "application/json") });
}
