using Engagement.Http;
using Engagement.Storage;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Http;
using Task = System.Threading.Tasks.Task;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace Engagement.Health;

/// <summary>
/// <c>GET /api/health</c>: 200 when every storage account (<see cref="IStorageProbe"/>: the app's, and intake's own when
/// it has one) and the durable engine answer, 503 otherwise.
/// </summary>
public sealed class HealthHandler(IEnumerable<IStorageProbe> storage, ILogger<HealthHandler> logger)
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    public async Task<IResult> HandleAsync(DurableTaskClient durableClient, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(durableClient);
        var durableTask = ProbeAsync(
            "durable",
            async ct => await durableClient.GetInstanceAsync("health-probe", getInputsAndOutputs: false, ct),
            cancellationToken);
        var results = await Task.WhenAll([.. storage.Select(probe => ProbeAsync(probe.Component, probe.ProbeAsync, cancellationToken)), durableTask]);

        var outcome = new OperationOutcome();
        foreach (var (component, error) in results)
        {
            outcome.Issue.Add(new OperationOutcome.IssueComponent
            {
                Severity = error is null ? OperationOutcome.IssueSeverity.Information : OperationOutcome.IssueSeverity.Error,
                Code = error is null ? OperationOutcome.IssueType.Informational : OperationOutcome.IssueType.Transient,
                Diagnostics = error is null ? $"{component}: reachable" : $"{component}: not reachable ({error})",
            });
        }

        var healthy = results.All(r => r.Error is null);
        return FhirResults.Resource(outcome, healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    private async Task<(string Component, string? Error)> ProbeAsync(
        string component, Func<CancellationToken, Task> probe, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ProbeTimeout);
        try
        {
            await probe(timeout.Token);
            return (component, null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning("Health probe {Component} failed: {ExceptionType}", component, ex.GetType().Name);
            return (component, timeout.IsCancellationRequested ? "timed out" : ex.GetType().Name);
        }
    }
}
