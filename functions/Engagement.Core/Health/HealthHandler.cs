using Engagement.Http;
using Engagement.Intake;
using Engagement.Storage;
using Engagement.Storage.AzureStorage;
using Hl7.Fhir.Model;
using Microsoft.AspNetCore.Http;
using Task = System.Threading.Tasks.Task;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace Engagement.Health;

/// <summary>
/// <c>GET /api/health</c>: 200 when storage (and intake's own account, when it has one) and the durable engine answer,
/// 503 otherwise.
/// </summary>
public sealed class HealthHandler(IStorageProbe storage, IntakeStorage intake, ILogger<HealthHandler> logger)
{
    private readonly TableStorageProbe? intakeProbe = intake.IsSeparate ? new TableStorageProbe(intake.Clients) : null;

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(5);

    public async Task<IResult> HandleAsync(DurableTaskClient durableClient, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(durableClient);
        var storageTask = ProbeAsync("storage", ct => storage.ProbeAsync(ct), cancellationToken);
        var durableTask = ProbeAsync(
            "durable",
            async ct => await durableClient.GetInstanceAsync("health-probe", getInputsAndOutputs: false, ct),
            cancellationToken);
        Task<(string Component, string? Error)>[] probes = intakeProbe is null
            ? [storageTask, durableTask]
            : [storageTask, ProbeAsync("intake storage", intakeProbe.ProbeAsync, cancellationToken), durableTask];
        var results = await Task.WhenAll(probes);

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
