using System.Text.Json;
using Engagement.Durable;
using Engagement.Fhir;
using Engagement.Http;
using Engagement.Intake;
using Engagement.WriteBack;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Logging;
using Task = System.Threading.Tasks.Task;

namespace Engagement.FollowUp.Engine;

/// <summary>
/// Where intake hands every processed clinical event: Patients are kept (demographics and contact preferences for
/// outreach), our Tasks worked in the EHR are updated (<see cref="EhrTaskUpdates"/>), and every resource goes to trigger
/// matching and EHR-side cancellation. Idempotent: deterministic
/// instance ids make a re-routed event start nothing new.
/// </summary>
public sealed class FollowUpEventRouter(
    FollowUpStarter starter,
    IFhirResourceStore store,
    IDurableClientAccessor durable,
    WriteBackStore writeBack,
    EhrTaskUpdates ehrTasks,
    TimeProvider time,
    ILogger<FollowUpEventRouter> logger) : IEventRouter
{
    public async Task RouteAsync(ClinicalEvent clinicalEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(clinicalEvent);
        if (clinicalEvent.Kind == ClinicalEventKind.Deleted || clinicalEvent.ResourceJson is null)
        {
            return;
        }

        foreach (var json in clinicalEvent.ContextPatientsJson)
        {
            // The Patient sent along with the event (e.g. an Encounter's), kept when we hold none: one we hold came as
            // an event of its own, and our store's version ids are ours, so which is newer cannot be told here.
            // Looked up first: after the first event it is held, and the store answers from memory what it has seen (a
            // read otherwise), where a refused create (insert, read, re-index) is three storage calls — per event, for
            // every event of the patient.
            var contextPatient = JsonSerializer.Deserialize<Patient>(json, FhirJson.Options)!;
            await writeBack.RecordPatientSourceAsync(contextPatient.Id!, clinicalEvent.Source, cancellationToken);
            if (!await store.ExistsAsync("Patient", contextPatient.Id!, cancellationToken))
            {
                await store.CreateIfNotExistsAsync(contextPatient, contextPatient.Id, cancellationToken);
            }
        }

        var resource = JsonSerializer.Deserialize<Resource>(clinicalEvent.ResourceJson, FhirJson.Options)!;
        if (resource is Patient patient)
        {
            var stored = await store.GetAsync("Patient", patient.Id ?? clinicalEvent.ResourceId, cancellationToken);
            await KeepPatientAsync(patient, patient.Id ?? clinicalEvent.ResourceId, clinicalEvent.Source, stored?.Resource as Patient, cancellationToken);
        }
        else if (resource is Hl7.Fhir.Model.Task task)
        {
            await ehrTasks.ApplyAsync(clinicalEvent.Source, task, cancellationToken);
        }

        var client = durable.Client
            ?? throw new InvalidOperationException("No durable client in this context: the event stays unrouted and is retried.");
        var started = await starter.OnResourceChangedAsync(
            client, clinicalEvent.Source, resource, eventName: null, clinicalEvent.Timestamp ?? time.GetUtcNow(), cancellationToken);
        logger.LogInformation("Event {EventId} ({ResourceType}/{ResourceId}) started {Count} follow-ups",
            clinicalEvent.EventId, clinicalEvent.ResourceType, clinicalEvent.ResourceId, started.Count);
    }

    /// <summary>Stores the EHR's Patient, keeping what the patient chose on the engagement page.</summary>
    private async Task KeepPatientAsync(Patient patient, string id, string source, Patient? stored, CancellationToken cancellationToken)
    {
        await writeBack.RecordPatientSourceAsync(id, source, cancellationToken);
        await store.PutAsync(PatientPreferences.KeepPatientChoices(patient, stored), patient.Id, cancellationToken);
    }
}
