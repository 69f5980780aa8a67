using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Engagement.Integration.Tests.Infrastructure;

namespace Engagement.Integration.Tests.Foundation;

public sealed record ProbeState(string RuntimeStatus, string? CustomStatus, IReadOnlyDictionary<int, int> StepRuns, JsonElement? Output)
{
    public override string ToString() =>
        $"{RuntimeStatus}/{CustomStatus} steps[{string.Join(',', StepRuns.Select(kv => $"{kv.Key}:{kv.Value}"))}]";
}

/// <summary>The admin durable-probe routes, as an operator would call them.</summary>
public static class ProbeApi
{
    public static async Task<string> StartAsync(StandaloneHost host, double delaySeconds, double eventTimeoutSeconds)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Post,
            $"/api/diagnostics/durable-probe?delaySeconds={delaySeconds}&eventTimeoutSeconds={eventTimeoutSeconds}");
        using var response = await host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return body.GetProperty("instanceId").GetString()!;
    }

    public static async Task<ProbeState> GetAsync(StandaloneHost host, string instanceId)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/diagnostics/durable-probe/{instanceId}");
        using var response = await host.Client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var steps = body.GetProperty("stepRuns").EnumerateObject()
            .ToDictionary(p => int.Parse(p.Name, System.Globalization.CultureInfo.InvariantCulture), p => p.Value.GetInt32());
        var output = body.GetProperty("output");
        JsonElement? parsed = output.ValueKind == JsonValueKind.String
            ? JsonDocument.Parse(output.GetString()!).RootElement.Clone()
            : null;
        var custom = body.GetProperty("customStatus");
        return new ProbeState(
            body.GetProperty("runtimeStatus").GetString()!,
            custom.ValueKind == JsonValueKind.String ? custom.GetString() : null,
            steps,
            parsed);
    }

    public static async Task ProceedAsync(StandaloneHost host, string instanceId, string payload)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Post, $"/api/diagnostics/durable-probe/{instanceId}/proceed?payload={payload}");
        using var response = await host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    public static Task<ProbeState> WaitAsync(StandaloneHost host, string instanceId, Func<ProbeState, bool> done, string what, int seconds = 60) =>
        Poll.UntilAsync(() => GetAsync(host, instanceId), done, TimeSpan.FromSeconds(seconds), what);
}
