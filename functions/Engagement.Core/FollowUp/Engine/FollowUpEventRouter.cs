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
/// outreach), and every resource goes to trigger matching and EHR-side cancellation. Idempotent: deterministic
/// instance ids make a re-routed event start nothing new.
/// </summary>
public sealed class FollowUpEventRouter(
    FollowUpStarter starter,
    IFhirResourceStore store,
    IDurableClientAccessor durable,
    WriteBackStore writeBack,
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

        var resource = JsonSerializer.Deserialize<Resource>(clinicalEvent.ResourceJson, FhirJson.Options)!;
        if (resource is Patient patient)
        {
            await writeBack.RecordPatientSourceAsync(patient.Id ?? clinicalEvent.ResourceId, clinicalEvent.Source, cancellationToken);
            var stored = await store.GetAsync("Patient", patient.Id ?? clinicalEvent.ResourceId, cancellationToken);
            await store.PutAsync(PatientPreferences.KeepPatientChoices(patient, stored?.Resource as Patient), patient.Id, cancellationToken);
        }

        var client = durable.Client
            ?? throw new InvalidOperationException("No durable client in this context: the event stays unrouted and is retried.");
        var started = await starter.OnResourceChangedAsync(
            client, clinicalEvent.Source, resource, eventName: null, clinicalEvent.Timestamp ?? time.GetUtcNow(), cancellationToken);
        logger.LogInformation("Event {EventId} ({ResourceType}/{ResourceId}) started {Count} follow-ups",
            clinicalEvent.EventId, clinicalEvent.ResourceType, clinicalEvent.ResourceId, started.Count);
    }
}
