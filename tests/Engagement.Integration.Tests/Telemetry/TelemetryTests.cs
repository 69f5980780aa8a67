using Engagement.Integration.Tests.Foundation;
using Engagement.Integration.Tests.Infrastructure;

namespace Engagement.Integration.Tests.Telemetry;

/// <summary>With the console exporter, the standalone host emits traces and the product's metrics.</summary>
public sealed class TelemetryTests
{
    [Fact]
    public async Task Console_exporter_emits_request_spans_named_by_route_template_and_product_metrics()
    {
        await using var host = new StandaloneHost(new Dictionary<string, string?> { ["Engagement__Telemetry__Exporter"] = "console" });
        await host.StartAsync();
        var id = await ProbeApi.StartAsync(host, delaySeconds: 0, eventTimeoutSeconds: 0);
        await ProbeApi.WaitAsync(host, id, s => s.RuntimeStatus == "Completed", "completion");

        var lines = await Poll.UntilAsync(
            () => Task.FromResult(host.Output.ToList()),
            output => output.Any(l => l.Contains("engagement.diagnostics.probes", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(20),
            "the metric export");

        Assert.Contains(lines, l => l.Contains("Activity.DisplayName:", StringComparison.Ordinal) && l.Contains("GET /api/diagnostics/durable-probe/{instanceId}", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("url.path: /api/diagnostics/durable-probe/{instanceId}", StringComparison.Ordinal));
        // Background polling of storage by the durable backend does not flood the trace exporter.
        Assert.DoesNotContain(lines, l => l.Contains("TaskHubSidecarService", StringComparison.Ordinal));
        // The concrete path (which for engagement links carries a token) never reaches a span.
        Assert.DoesNotContain(lines, l => l.Contains("url.path", StringComparison.Ordinal) && l.Contains(id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unknown_exporter_name_stops_the_host_with_a_clear_message()
    {
        await using var host = new StandaloneHost(new Dictionary<string, string?> { ["Engagement__Telemetry__Exporter"] = "carrier-pigeon" });
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync(timeout: TimeSpan.FromSeconds(60)));
        Assert.Contains("Engagement:Telemetry:Exporter must be none, console, otlp or azuremonitor", error.Message, StringComparison.Ordinal);
    }
}
