using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Engagement.Integration.Tests.Infrastructure;

namespace Engagement.Integration.Tests.Links;

public sealed record IssuedTestLink(string LinkId, string Token, Uri Url, DateTimeOffset ExpiresAt);

/// <summary>The test-only link diagnostics routes and the link keys the link hosts run with.</summary>
public static class LinkApi
{
    public const string SecretOne = "integration-link-secret-one-0123456789";
    public const string SecretTwo = "integration-link-secret-two-0123456789";
    public const string Questionnaire = "http://engagement-functions.org/fhir/Questionnaire/phq-9";

    public static Dictionary<string, string?> Settings(string activeKeyId, params (string Id, string Secret)[] keys)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Engagement__Diagnostics__Enabled"] = "true",
            ["Engagement__Links__ActiveKeyId"] = activeKeyId,
            // These hosts send no outreach; keep their outbox dispatcher from taking other tests' messages (shared table).
            ["Engagement__Outbox__DispatchInterval"] = "1.00:00:00",
        };
        for (var i = 0; i < keys.Length; i++)
        {
            settings[$"Engagement__Links__Keys__{i}__Id"] = keys[i].Id;
            settings[$"Engagement__Links__Keys__{i}__Secret"] = keys[i].Secret;
        }

        return settings;
    }

    public static async Task<IssuedTestLink> IssueAsync(StandaloneHost host, string patientId = "patient-4711", string taskId = "task-0815", double? lifetimeSeconds = null)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Post, "/api/diagnostics/links");
        request.Content = JsonContent.Create(new { patientId, taskId, questionnaire = Questionnaire, instanceId = "followup-" + taskId, lifetimeSeconds });
        using var response = await host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return new IssuedTestLink(
            body.GetProperty("linkId").GetString()!,
            body.GetProperty("token").GetString()!,
            new Uri(body.GetProperty("url").GetString()!),
            body.GetProperty("expiresAt").GetDateTimeOffset());
    }

    /// <summary>Submits once through the link (what the response route will do): 204, or 401/410.</summary>
    public static async Task<HttpStatusCode> UseAsync(StandaloneHost host, string token)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Post, "/api/diagnostics/links/use");
        request.Content = JsonContent.Create(new { token });
        using var response = await host.Client.SendAsync(request);
        return response.StatusCode;
    }

    public static async Task<HttpStatusCode> RevokeAsync(StandaloneHost host, string linkId)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Post, $"/api/diagnostics/links/{linkId}/revoke");
        using var response = await host.Client.SendAsync(request);
        return response.StatusCode;
    }

    public static async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> PageAsync(StandaloneHost host, string token, string? acceptLanguage = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/engage/" + token, UriKind.Relative));
        if (acceptLanguage is not null)
        {
            request.Headers.TryAddWithoutValidation("Accept-Language", acceptLanguage);
        }

        var response = await host.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }
}

/// <summary>A standalone host with diagnostics on and two link keys (k1 active).</summary>
public sealed class LinkHostFixture : IAsyncLifetime
{
    public StandaloneHost Host { get; } = new(LinkApi.Settings("k1", ("k1", LinkApi.SecretOne), ("k2", LinkApi.SecretTwo)));

    public Task InitializeAsync() => Host.StartAsync();

    public Task DisposeAsync() => Host.DisposeAsync().AsTask();
}

[CollectionDefinition(Name)]
public sealed class LinkHostCollection : ICollectionFixture<LinkHostFixture>
{
    public const string Name = "link host";
}
