using System.Diagnostics;
using Engagement.Fhir;
using Engagement.Telemetry;
using Engagement.WriteBack;
using Hl7.Fhir.Model;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Task = System.Threading.Tasks.Task;

namespace Engagement.FollowUp.Engine;

/// <summary>
/// Turns a clinical event into follow-up: starts the protocols whose triggers match (one run per protocol, patient
/// and triggering resource, with a deterministic instance id, so a redelivered or concurrent trigger never starts a
/// second), starts or reschedules CarePlan-driven runs, and cancels runs when the EHR revokes or voids what started
/// them or the patient dies.
/// </summary>
public sealed class FollowUpStarter(
    IProtocolCatalog catalog,
    IPatientDirectory patients,
    FollowUpIndex index,
    WriteBackStore writeBack,
    IOptions<PreferenceDefaults> defaults,
    ILogger<FollowUpStarter> logger)
{
    public async Task<IReadOnlyList<string>> OnResourceChangedAsync(
        DurableTaskClient client, string source, Resource resource, string? eventName, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(resource);
        var patientId = PatientOf(resource);
        if (patientId is null || string.IsNullOrEmpty(resource.Id))
        {
            return [];
        }

        switch (resource)
        {
            case Patient { Deceased: FhirBoolean { Value: true } or FhirDateTime }:
                await CancelAllForPatientAsync(client, patientId, "patient deceased", cancellationToken);
                return [];
            case Encounter { Status: Encounter.EncounterStatus.EnteredInError } encounter:
                await CancelTriggeredByAsync(client, patientId, "Encounter", encounter.Id!, "encounter entered in error", cancellationToken);
                return [];
            case CarePlan carePlan:
                return await OnCarePlanAsync(client, source, carePlan, patientId, receivedAt, cancellationToken);
        }

        var started = new List<string>();
        var protocols = await catalog.GetProtocolsAsync(cancellationToken);
        foreach (var protocol in ProtocolMatcher.Match(protocols, resource, eventName))
        {
            var input = await InputForAsync(protocol, source, resource, patientId, receivedAt, cancellationToken);
            if (await StartAsync(client, input, cancellationToken))
            {
                started.Add(input.InstanceId);
            }
        }

        return started;
    }

    /// <summary>Starts one run unless it exists. Returns false for a duplicate.</summary>
    public async Task<bool> StartAsync(DurableTaskClient client, FollowUpInput input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(input);
        if (await client.GetInstanceAsync(input.InstanceId, getInputsAndOutputs: false, cancellationToken) is not null)
        {
            return false;
        }

        // The claim row is the race-proof part: of two concurrent starters exactly one inserts it.
        switch (await index.TryClaimAsync(input.InstanceId, cancellationToken))
        {
            case StartClaim.Started:
                return false;
            case StartClaim.Held:
                // Another starter claimed it and is creating it, or claimed it and failed before creating it (a crash,
                // storage gone). Only a run that exists makes this a duplicate; otherwise the event must be retried
                // (its inbox row stays pending), or the start would be lost with the claimer.
                if (await client.GetInstanceAsync(input.InstanceId, getInputsAndOutputs: false, cancellationToken) is not null)
                {
                    return false;
                }

                logger.LogWarning("Follow-up {InstanceId} is claimed by another start that has not created it; the event is retried", input.InstanceId);
                throw new FollowUpStartInDoubtException(input.InstanceId);
            case StartClaim.TakenOver:
                logger.LogWarning("Follow-up {InstanceId}: a start claimed longer than the lease ago never created it; this start takes it over", input.InstanceId);
                break;
        }

        // Before the run exists, so that what it produces for this patient is written back to this source.
        await writeBack.RecordPatientSourceAsync(input.PatientId, input.Source, cancellationToken);
        await index.MarkSchedulingAsync(input.InstanceId, cancellationToken);
        using var span = EngagementTelemetry.StartContinued("followup.start", ActivityKind.Producer, input.TraceParent);
        span?.SetTag("engagement.protocol", input.Protocol.Id);
        span?.SetTag("engagement.instance", input.InstanceId);
        try
        {
            await client.ScheduleNewOrchestrationInstanceAsync(
                nameof(FollowUpOrchestrator), input, new StartOrchestrationOptions(input.InstanceId), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // "Already exists" from the backend is a duplicate; anything else is a real failure for the caller.
            if (await client.GetInstanceAsync(input.InstanceId, getInputsAndOutputs: false, CancellationToken.None) is not null)
            {
                return false;
            }

            throw;
        }

        await index.UpsertRunAsync(input.PatientId, input.InstanceId, input.Protocol.Id, input.Protocol.Title, "running", cancellationToken);
        logger.LogInformation("Follow-up {InstanceId} started for protocol {ProtocolId}", input.InstanceId, input.Protocol.Id);
        return true;
    }

    /// <summary>Asks a running instance to stop; false when it is unknown or already finished.</summary>
    public static async Task<bool> CancelAsync(DurableTaskClient client, string instanceId, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var instance = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken);
        if (instance is null || instance.IsCompleted)
        {
            return false;
        }

        await client.RaiseEventAsync(instanceId, FollowUpEvents.Cancel, new CancelRequest(reason), cancellationToken);
        return true;
    }

    private async Task<IReadOnlyList<string>> OnCarePlanAsync(
        DurableTaskClient client, string source, CarePlan carePlan, string patientId, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        var runs = await index.RunsForPatientAsync(patientId, cancellationToken);
        var previous = runs.Where(r => r.GetString("Protocol") == "careplan-" + carePlan.Id && r.GetString("Status") == "running").Select(r => r.RowKey).ToList();
        if (carePlan.Status is RequestStatus.Revoked or RequestStatus.Completed or RequestStatus.EnteredInError)
        {
            foreach (var instanceId in previous)
            {
                await CancelAsync(client, instanceId, $"care plan {carePlan.Status.ToString()!.ToLowerInvariant()}", cancellationToken);
            }

            return [];
        }

        if (carePlan.Status != RequestStatus.Active)
        {
            return [];
        }

        var read = ProtocolDefinition.FromCarePlan(carePlan);
        if (read.Protocol is not { } protocol)
        {
            logger.LogWarning("CarePlan {CarePlanId} from {Source} has no usable schedule", carePlan.Id, source);
            return [];
        }

        // A revised CarePlan (new version) replaces the running schedule: what is already done stays done (the
        // reader keeps only activities not yet completed), the rest is laid out again.
        var version = carePlan.Meta?.VersionId ?? "1";
        var input = await InputForAsync(protocol, source, carePlan, patientId, receivedAt, cancellationToken) with
        {
            InstanceId = FollowUpInstanceId.For(protocol.Id + "@" + version, patientId, "CarePlan", carePlan.Id!),
        };
        if (!await StartAsync(client, input, cancellationToken))
        {
            return [];
        }

        foreach (var instanceId in previous.Where(id => id != input.InstanceId))
        {
            await CancelAsync(client, instanceId, "care plan revised", cancellationToken);
        }

        return [input.InstanceId];
    }

    private async Task<FollowUpInput> InputForAsync(ProtocolDefinition protocol, string source, Resource resource, string patientId, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        var patient = await patients.FindAsync(source, patientId, cancellationToken);
        var zone = PlanFollowUpActivity.PatientPreferencesFor(patient, defaults.Value).TimeZone;
        var anchor = protocol.ResolveAnchor(resource, receivedAt, zone);
        var instanceId = FollowUpInstanceId.For(protocol.Id, patientId, resource.TypeName, resource.Id!);
        return new FollowUpInput(instanceId, protocol, patientId, source, resource.TypeName, resource.Id!, anchor, EngagementTelemetry.CurrentTraceParent);
    }

    private async Task CancelAllForPatientAsync(DurableTaskClient client, string patientId, string reason, CancellationToken cancellationToken)
    {
        foreach (var run in await index.RunsForPatientAsync(patientId, cancellationToken))
        {
            if (run.GetString("Status") == "running")
            {
                await CancelAsync(client, run.RowKey, reason, cancellationToken);
            }
        }
    }

    private async Task CancelTriggeredByAsync(DurableTaskClient client, string patientId, string type, string id, string reason, CancellationToken cancellationToken)
    {
        foreach (var protocol in await catalog.GetProtocolsAsync(cancellationToken))
        {
            await CancelAsync(client, FollowUpInstanceId.For(protocol.Id, patientId, type, id), reason, cancellationToken);
        }
    }

    /// <summary>The patient a resource is about (ids only; absolute references are reduced to their id).</summary>
    public static string? PatientOf(Resource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var reference = resource switch
        {
            Patient patient => "Patient/" + patient.Id,
            Encounter e => e.Subject?.Reference,
            CarePlan c => c.Subject?.Reference,
            Appointment a => a.Participant.Select(p => p.Actor?.Reference).FirstOrDefault(r => r?.Contains("Patient/", StringComparison.Ordinal) == true),
            ServiceRequest s => s.Subject?.Reference,
            QuestionnaireResponse q => q.Subject?.Reference,
            Observation o => o.Subject?.Reference,
            Condition c => c.Subject?.Reference,
            MedicationRequest m => m.Subject?.Reference,
            _ => null,
        };
        if (reference is null)
        {
            return null;
        }

        var at = reference.LastIndexOf("Patient/", StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        var id = reference[(at + "Patient/".Length)..].Split('/')[0];
        return id.Length > 0 ? id : null;
    }
}

/// <summary>
/// A run's start is claimed by another starter, within its lease, and the run does not exist yet: whether it will is
/// not known here, so the triggering event is not done and is retried (its inbox row stays pending).
/// </summary>
public sealed class FollowUpStartInDoubtException(string instanceId)
    : Exception($"The start of follow-up {instanceId} is claimed by another starter and not made yet; retry the event.")
{
    public string InstanceId { get; } = instanceId;
}
