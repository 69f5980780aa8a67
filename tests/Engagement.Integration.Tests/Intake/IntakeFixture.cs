using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Engagement.Integration.Tests.Infrastructure;

namespace Engagement.Integration.Tests.Intake;

/// <summary>One standalone host with intake sources configured, its own storage prefix, and the fake EHR FHIR server.</summary>
public sealed class IntakeFixture : IAsyncLifetime
{
    public const string Secret = "ehr1-inbound-secret";
    public const string SignedSecret = "signed-inbound-secret";
    public const string HmacKey = "signed-hmac-key";
    public const string NoFhirSecret = "nofhir-inbound-secret";
    public const string SmartSecret = "smart-inbound-secret";

    public IntakeFixture()
    {
        Fhir = new FakeFhirServer();
        Prefix = NewPrefix();
        var settings = Settings(Prefix, Fhir.BaseUrl);
        settings["Engagement__Sources__smart__InboundSecret"] = SmartSecret;
        settings["Engagement__Sources__smart__FhirBaseUrl"] = Fhir.BaseUrl.ToString();
        settings["Engagement__Sources__smart__Auth__Type"] = "smart";
        settings["Engagement__Sources__smart__Auth__ClientId"] = "engagement-client";
        settings["Engagement__Sources__smart__Auth__TokenUrl"] = Fhir.TokenUrl.ToString();
        settings["Engagement__Sources__smart__Auth__Scope"] = "system/Encounter.rs";
        settings["Engagement__Sources__smart__Auth__PrivateKey"] = Fhir.SmartKey.ExportPkcs8PrivateKeyPem();
        Host = new StandaloneHost(settings);
    }

    public FakeFhirServer Fhir { get; }

    public string Prefix { get; }

    public StandaloneHost Host { get; }

    public static string NewPrefix() => "I" + Guid.NewGuid().ToString("N")[..10];

    public static Dictionary<string, string?> Settings(string prefix, Uri fhirBase) => new()
    {
        ["Engagement__Intake__StoragePrefix"] = prefix,
        ["Engagement__Intake__SweepInterval"] = "00:00:01",
        ["Engagement__Intake__RedriveAfter"] = "00:00:02",
        ["Engagement__Intake__GapGracePeriod"] = "00:00:02",
        ["Engagement__Intake__GapRecoveryBackoff"] = "00:00:01", // open gaps fetched again after 1, 2, 4 … s (default 30 s)
        ["Engagement__Sources__ehr1__InboundSecret"] = Secret,
        ["Engagement__Sources__ehr1__FhirBaseUrl"] = fhirBase.ToString(),
        ["Engagement__Sources__ehr1__Criteria"] = "Encounter?status=finished",
        ["Engagement__Sources__signed__InboundSecret"] = SignedSecret,
        ["Engagement__Sources__signed__HmacKey"] = HmacKey,
        ["Engagement__Sources__nofhir__InboundSecret"] = NoFhirSecret,
        ["Engagement__Sources__nofhir__HeartbeatPeriod"] = "00:00:01",
    };

    public Task InitializeAsync() => Host.StartAsync();

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Fhir.DisposeAsync();
    }

    public TableClient Table(string suffix) => Table(Prefix, suffix);

    public static TableClient Table(string prefix, string suffix)
    {
        var table = new TableServiceClient(TestEnvironment.StorageConnectionString).GetTableClient(prefix + suffix);
        table.CreateIfNotExists();
        return table;
    }

    public async Task<List<TableEntity>> RowsAsync(string suffix, string source) =>
        await Table(suffix).QueryAsync<TableEntity>(e => e.PartitionKey == source).ToListAsync();

    public static async Task<HttpResponseMessage> SendAsync(StandaloneHost host, HttpMethod method, string path, string? body,
        string? secret = Secret, string mediaType = "application/fhir+json; charset=utf-8", string? signatureKey = null)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(mediaType);
            if (signatureKey is not null)
            {
                request.Headers.Add("X-Signature", Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(signatureKey), Encoding.UTF8.GetBytes(body))));
            }
        }

        if (secret is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        }

        return await host.Client.SendAsync(request);
    }

    public Task<HttpResponseMessage> PostNotificationAsync(string body, string source = "ehr1", string? secret = Secret) =>
        SendAsync(Host, HttpMethod.Post, $"/api/notifications/{source}", body, secret);

    public Task<JsonElement> SubscriptionAsync(string source, string subscriptionEndsWith) => SubscriptionAsync(Host, source, subscriptionEndsWith);

    /// <summary>A subscription's state from <c>GET /api/subscriptions/{source}</c>; default when not seen yet.</summary>
    public static async Task<JsonElement> SubscriptionAsync(StandaloneHost host, string source, string subscriptionEndsWith)
    {
        ArgumentNullException.ThrowIfNull(host);
        using var request = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/subscriptions/{source}");
        using var response = await host.Client.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("subscriptions").EnumerateArray()
            .Where(s => s.GetProperty("subscription").GetString()!.EndsWith(subscriptionEndsWith, StringComparison.Ordinal))
            .Select(s => s.Clone()).FirstOrDefault();
    }

    public async Task<List<TableEntity>> WaitForEventsAsync(string source, Func<List<TableEntity>, bool> done, string what) =>
        await Poll.UntilAsync(() => RowsAsync("Events", source), done, TimeSpan.FromSeconds(30), what);
}

[CollectionDefinition(Name)]
public sealed class IntakeCollection : ICollectionFixture<IntakeFixture>
{
    public const string Name = "intake host";
}

/// <summary>Fixture files with variations: subscription id and event numbers.</summary>
public static class Notifications
{
    public static string Fixture(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Intake", "Fixtures", name));

    /// <summary>The fixture with its subscription renamed and its event numbers (and events-since) replaced, in order.</summary>
    public static string Build(string name, string subscription, long? eventsSince = null, params long[] eventNumbers)
    {
        var root = JsonNode.Parse(Fixture(name))!;
        var parameters = (JsonArray)root["entry"]![0]!["resource"]!["parameter"]!;
        var index = 0;
        foreach (var parameter in parameters)
        {
            switch ((string?)parameter!["name"])
            {
                case "subscription":
                    parameter["valueReference"]!["reference"] = "https://ehr.example.org/fhir/Subscription/" + subscription;
                    break;
                case "events-since-subscription-start" when eventsSince is not null:
                    parameter.AsObject().Remove("valueInteger");
                    parameter["valueString"] = eventsSince.Value.ToString(CultureInfo.InvariantCulture);
                    break;
                case "notification-event" when index < eventNumbers.Length:
                    var part = ((JsonArray)parameter["part"]!).First(p => (string?)p!["name"] == "event-number")!.AsObject();
                    part.Remove("valueInteger");
                    part["valueString"] = eventNumbers[index++].ToString(CultureInfo.InvariantCulture);
                    break;
            }
        }

        return root.ToJsonString();
    }

    public static string NewSubscription() => "sub-" + Guid.NewGuid().ToString("N")[..8];
}
