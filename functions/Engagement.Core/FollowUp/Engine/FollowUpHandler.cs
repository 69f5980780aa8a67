using Engagement.Http;
using Engagement.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;

namespace Engagement.FollowUp.Engine;

/// <summary>
/// <c>GET /api/followups?patient=</c>, <c>GET /api/followups/{instanceId}</c>,
/// <c>POST /api/followups/{instanceId}/cancel</c> — for the care team and operators (X-Admin-Key).
/// </summary>
public sealed class FollowUpHandler(AdminKeyAuthorizer admin, FollowUpIndex index)
{
    public async Task<IResult> ListAsync(HttpRequest request, DurableTaskClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        if (admin.Challenge(request) is { } denied)
        {
            return denied;
        }

        var patient = request.Query["patient"].ToString();
        if (patient.StartsWith("Patient/", StringComparison.Ordinal))
        {
            patient = patient["Patient/".Length..];
        }

        if (patient.Length == 0)
        {
            return FhirResults.BadRequest("The patient query parameter is required: follow-ups are listed per patient.");
        }

        var runs = new List<object>();
        foreach (var row in await index.RunsForPatientAsync(patient, cancellationToken))
        {
            var instance = await client.GetInstanceAsync(row.RowKey, getInputsAndOutputs: true, cancellationToken);
            var status = instance?.ReadCustomStatusAs<FollowUpStatus>();
            runs.Add(new
            {
                instanceId = row.RowKey,
                protocol = row.GetString("Protocol"),
                title = row.GetString("Title"),
                status = row.GetString("Status"),
                runtimeStatus = instance?.RuntimeStatus.ToString(),
                next = status?.NextOccurrence,
                nextDue = status?.NextDueUtc,
            });
        }

        return Results.Json(new { patient, followUps = runs });
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
        if (instance is null && await index.RunAsync(instanceId, cancellationToken) is { } purged)
        {
            // An ended run whose durable history was purged: what our own tables keep of it.
            var lines = await index.HistoryAsync(instanceId, cancellationToken);
            return Results.Json(new
            {
                instanceId,
                protocol = purged.Protocol,
                title = purged.Title,
                patient = purged.PatientId,
                runtimeStatus = (string?)null,
                state = purged.Status,
                durableHistory = "purged",
                history = HistoryJson(lines),
            });
        }

        if (instance is null || instance.Name != nameof(FollowUpOrchestrator))
        {
            return FhirResults.NotFound($"No follow-up '{instanceId}'.");
        }

        var input = instance.ReadInputAs<FollowUpInput>();
        var status = instance.ReadCustomStatusAs<FollowUpStatus>();
        var history = await index.HistoryAsync(instanceId, cancellationToken);
        return Results.Json(new
        {
            instanceId,
            protocol = input?.Protocol.Id,
            title = input?.Protocol.Title,
            patient = input?.PatientId,
            trigger = input is null ? null : $"{input.TriggerType}/{input.TriggerId}",
            runtimeStatus = instance.RuntimeStatus.ToString(),
            state = status?.State,
            next = status?.NextOccurrence,
            nextDue = status?.NextDueUtc,
            result = instance.IsCompleted ? instance.ReadOutputAs<FollowUpResult>() : null,
            history = HistoryJson(history),
        });
    }

    public async Task<IResult> CancelAsync(HttpRequest request, string instanceId, DurableTaskClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        if (admin.Challenge(request) is { } denied)
        {
            return denied;
        }

        var instance = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken);
        if (instance is null && await index.RunAsync(instanceId, cancellationToken) is { } purged && purged.Status != "running")
        {
            return FhirResults.Outcome(StatusCodes.Status409Conflict, Hl7.Fhir.Model.OperationOutcome.IssueType.Conflict, $"Follow-up '{instanceId}' has already ended.");
        }

        if (instance is null || instance.Name != nameof(FollowUpOrchestrator))
        {
            return FhirResults.NotFound($"No follow-up '{instanceId}'.");
        }

        if (!await FollowUpStarter.CancelAsync(client, instanceId, "cancelled by the care team", cancellationToken))
        {
            return FhirResults.Outcome(StatusCodes.Status409Conflict, Hl7.Fhir.Model.OperationOutcome.IssueType.Conflict, $"Follow-up '{instanceId}' has already ended.");
        }

        return Results.Accepted($"/api/followups/{instanceId}", new { instanceId, cancelling = true });
    }

    /// <summary>A run's history lines as the route shows them.</summary>
    private static IEnumerable<object> HistoryJson(IEnumerable<FollowUpHistoryEntry> lines) =>
        lines.Select(h => new { at = h.At, kind = h.Kind, occurrence = h.Occurrence, detail = h.Detail });
}
