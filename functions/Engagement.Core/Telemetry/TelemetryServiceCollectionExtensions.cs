using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Engagement.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>Configuration key choosing the exporter: <c>none</c>, <c>console</c>, <c>otlp</c> or <c>azuremonitor</c>.</summary>
    public const string ExporterKey = "Engagement:Telemetry:Exporter";

    /// <summary>
    /// OpenTelemetry traces and metrics for a host. The exporter is Azure Monitor when
    /// <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> is set (Azure), else whatever <see cref="ExporterKey"/> says
    /// (console or OTLP locally; OTLP honours the standard <c>OTEL_EXPORTER_OTLP_*</c> variables), else none.
    /// Query strings of incoming and outgoing requests are redacted by the instrumentation.
    /// </summary>
    public static IOpenTelemetryBuilder AddEngagementTelemetry(
        this IServiceCollection services,
        IConfiguration configuration,
        Action<TracerProviderBuilder>? configureTracing = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var exporter = ChooseExporter(configuration);
        // Azure SDK clients (tables, queues, blobs, Service Bus) emit spans through ActivitySource when asked to.
        AppContext.SetSwitch("Azure.Experimental.EnableActivitySource", true);
        var builder = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("engagement-functions"))
            .WithTracing(tracing =>
            {
                tracing.SetSampler(new BackgroundClientSpanSampler())
                    .AddSource(EngagementTelemetry.Name, "Microsoft.DurableTask", "Microsoft.DurableTask.*", "DurableTask.Core", "Azure.*")
                    .AddHttpClientInstrumentation(http =>
                        // The standalone host's durable worker talks gRPC to its in-process sidecar: plumbing, not calls.
                        http.FilterHttpRequestMessage = request =>
                            request.RequestUri?.AbsolutePath.StartsWith("/TaskHubSidecarService", StringComparison.Ordinal) != true);
                configureTracing?.Invoke(tracing);
                if (exporter == "console")
                {
                    tracing.AddConsoleExporter();
                }
                else if (exporter == "otlp")
                {
                    tracing.AddOtlpExporter();
                }
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(EngagementTelemetry.Name);
                if (exporter == "console")
                {
                    metrics.AddConsoleExporter((_, reader) => reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 5000);
                }
                else if (exporter == "otlp")
                {
                    metrics.AddOtlpExporter();
                }
            });
        if (exporter == "azuremonitor")
        {
            builder.UseAzureMonitorExporter(options => options.ConnectionString = configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"]);
        }

        return builder;
    }

    public static string ChooseExporter(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var configured = configuration[ExporterKey]?.Trim().ToLowerInvariant();
        if (!string.IsNullOrEmpty(configured))
        {
            return configured is "none" or "console" or "otlp" or "azuremonitor"
                ? configured
                : throw new InvalidOperationException($"{ExporterKey} must be none, console, otlp or azuremonitor.");
        }

        return string.IsNullOrEmpty(configuration["APPLICATIONINSIGHTS_CONNECTION_STRING"]) ? "none" : "azuremonitor";
    }
}
