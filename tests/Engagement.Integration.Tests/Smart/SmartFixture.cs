using Engagement.Integration.Tests.Infrastructure;
using Engagement.Testing.Smart;

namespace Engagement.Integration.Tests.Smart;

/// <summary>A test authorization server and a standalone host that accepts its tokens (diagnostics on, 1 s key refresh limit).</summary>
public sealed class SmartFixture : IAsyncLifetime
{
    public SmartFixture()
    {
        Issuer.AddKey(Rsa);
        Issuer.AddKey(Ec);
        Host = new StandaloneHost(new Dictionary<string, string?>
        {
            ["Engagement__Diagnostics__Enabled"] = "true",
            ["Engagement__Smart__Issuers__0__Issuer"] = Issuer.Issuer,
            ["Engagement__Smart__MinimumKeyRefreshInterval"] = "00:00:01",
            // This host sends no outreach; keep its outbox dispatcher from taking other tests' messages (shared table).
            ["Engagement__Outbox__DispatchInterval"] = "1.00:00:00",
        });
        Audience = Host.BaseAddress.ToString().TrimEnd('/') + "/api/fhir";
        Host.Settings["Engagement__Smart__Issuers__0__Audience"] = Audience;
    }

    public TestSmartIssuer Issuer { get; } = new();

    public TestSigningKey Rsa { get; } = TestSigningKey.Rsa256("rsa-1");

    public TestSigningKey Ec { get; } = TestSigningKey.EcP256("ec-1");

    public StandaloneHost Host { get; }

    public string Audience { get; }

    public async Task InitializeAsync()
    {
        await Issuer.StartAsync();
        await Host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Issuer.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class SmartCollection : ICollectionFixture<SmartFixture>
{
    public const string Name = "smart issuer and host";
}
