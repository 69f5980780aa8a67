using Engagement.Integration.Tests.Infrastructure;
using Engagement.Testing.Smart;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Engagement.Integration.Tests.Smart;

/// <summary>
/// A SMART authorization server the test starts: Kestrel on a free loopback port serving
/// <c>/.well-known/openid-configuration</c> and its JWKS. Keys can be added (rotation) while it runs.
/// </summary>
public sealed class TestSmartIssuer : IAsyncDisposable
{
    private readonly object gate = new();
    private readonly List<TestSigningKey> keys = [];
    private WebApplication? app;
    private int jwksRequests;

    public TestSmartIssuer()
    {
        Port = TestEnvironment.FreeTcpPort();
        Issuer = $"http://127.0.0.1:{Port}";
    }

    public int Port { get; }

    public string Issuer { get; }

    public int JwksRequests => Volatile.Read(ref jwksRequests);

    public void AddKey(TestSigningKey key)
    {
        lock (gate)
        {
            keys.Add(key);
        }
    }

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(Issuer);
        builder.Logging.ClearProviders();
        app = builder.Build();
        app.MapGet("/.well-known/openid-configuration", () =>
            Results.Text(SmartTestTokens.Discovery(Issuer, Issuer + "/jwks"), "application/json"));
        app.MapGet("/jwks", () =>
        {
            Interlocked.Increment(ref jwksRequests);
            lock (gate)
            {
                return Results.Text(SmartTestTokens.Jwks(keys), "application/json");
            }
        });
        await app.StartAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
