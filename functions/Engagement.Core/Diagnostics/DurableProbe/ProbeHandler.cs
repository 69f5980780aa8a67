using System.Globalization;
using Engagement.Http;
using Engagement.Security;
using Engagement.Telemetry;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;

namespace Engagement.Diagnostics.DurableProbe;

/// <summary>
/// Admin routes under <c>/api/diagnostics/durable-probe</c>: start the probe orchestration, read its state and
/// how often each step ran, and raise its event.
/// </summary>
public sealed class ProbeHandler(AdminKeyAuthorizer admin, ProbeStepStore steps)
{
    public async Task<IResult> StartAsync(HttpRequest request, DurableTaskClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        if (admin.Challenge(request) is { } denied)
        {
            return denied;
        }

        if (!TryReadSeconds(request, "delaySeconds", 1, out var delay) || !TryReadSeconds(request, "eventTimeoutSeconds", 0, out var eventTimeout))
        {
            return FhirResults.BadRequest("delaySeconds and eventTimeoutSeconds must be numbers between 0 and 3600.");
        }

        var instanceId = await client.ScheduleNewOrchestrationInstanceAsync(
            nameof(ProbeOrchestrator), new ProbeInput(delay, eventTimeout), cancellationToken);
        EngagementTelemetry.ProbesStarted.Add(1);
        return Results.Accepted($"/api/diagnostics/durable-probe/{instanceId}", new { instanceId });
    }

    public async Task<IResult> GetAsync(HttpRequest request, string instanceId, DurableTaskClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        if (admin.Challenge(request) is { } denied)
        {
            return denied;
        }

        var instance = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, cancellationToken);
        if (instance is null)
        {
            return FhirResults.NotFound($"No probe orchestration '{instanceId}'.");
        }

        var counts = await steps.CountAsync(instanceId, cancellationToken);
        return Results.Json(new
        {
            instanceId,
            runtimeStatus = instance.RuntimeStatus.ToString(),
            customStatus = instance.ReadCustomStatusAs<string>(),
            stepRuns = counts.ToDictionary(kv => kv.Key.ToString(CultureInfo.InvariantCulture), kv => kv.Value),
            output = instance.SerializedOutput,
        });
    }

    public async Task<IResult> ProceedAsync(HttpRequest request, string instanceId, DurableTaskClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        if (admin.Challenge(request) is { } denied)
        {
            return denied;
        }

        var instance = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken);
        if (instance is null)
        {
            return FhirResults.NotFound($"No probe orchestration '{instanceId}'.");
        }

        var payload = request.Query["payload"].ToString();
        await client.RaiseEventAsync(instanceId, ProbeOrchestrator.ProceedEvent, payload, cancellationToken);
        return Results.Accepted();
    }

    private static bool TryReadSeconds(HttpRequest request, string name, double fallback, out double seconds)
    {
        var raw = request.Query[name].ToString();
        if (raw.Length == 0)
        {
            seconds = fallback;
            return true;
        }

        return double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out seconds) && seconds is >= 0 and <= 3600;
    }
}
