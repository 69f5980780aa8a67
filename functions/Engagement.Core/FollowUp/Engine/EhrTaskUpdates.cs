using Engagement.Fhir;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Logging;
using Task = System.Threading.Tasks.Task;

namespace Engagement.FollowUp.Engine;

/// <summary>
/// The care team works our Tasks (escalations, red-flag reviews, patient questions) in the EHR, where write-back put
/// them. When the EHR sends one back (a Task event carrying our identifier, <see cref="FollowUpIds.TaskIdentifierSystem"/>),
/// its status, business status, owner and last-modified time are taken onto our Task — which is how a clinician's
/// acknowledgement (the Task leaving requested) reaches the engagement measures. Our Task is found by identifier among
/// the patient's Tasks (the EHR's id is its own). A Task that has ended here (completed, cancelled, failed…) is not
/// reopened by a stale copy; an EHR copy that changes nothing writes nothing, so our write-back of the change, echoed
/// by the EHR, ends there.
/// </summary>
public sealed class EhrTaskUpdates(IFhirResourceStore store, ILogger<EhrTaskUpdates> logger)
{
    private static readonly Hl7.Fhir.Model.Task.TaskStatus[] Ended =
    [
        Hl7.Fhir.Model.Task.TaskStatus.Completed, Hl7.Fhir.Model.Task.TaskStatus.Cancelled, Hl7.Fhir.Model.Task.TaskStatus.Failed,
        Hl7.Fhir.Model.Task.TaskStatus.Rejected, Hl7.Fhir.Model.Task.TaskStatus.EnteredInError,
    ];

    /// <summary>Returns whether our Task changed.</summary>
    public async Task<bool> ApplyAsync(string source, Hl7.Fhir.Model.Task ehrTask, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ehrTask);
        var identifier = ehrTask.Identifier.FirstOrDefault(i => i.System == FollowUpIds.TaskIdentifierSystem && !string.IsNullOrEmpty(i.Value));
        var patientId = PatientIdOf(ehrTask.For?.Reference);
        if (identifier is null || patientId is null || ehrTask.Status is null)
        {
            return false; // not one of ours, or nothing to take
        }

        var ours = (await store.SearchByPatientAsync("Task", patientId, cancellationToken))
            .Select(s => s.Resource as Hl7.Fhir.Model.Task)
            .FirstOrDefault(t => t?.Identifier.Any(i => i.System == identifier.System && i.Value == identifier.Value) == true);
        if (ours is null)
        {
            logger.LogInformation("Task event from {Source} ({TaskId}) carries our identifier but we hold no such Task", source, ehrTask.Id);
            return false;
        }

        if ((ours.Status is { } current && Ended.Contains(current)) || (ours.Status == ehrTask.Status && Same(ours.BusinessStatus, ehrTask.BusinessStatus) && Same(ours.Owner, ehrTask.Owner)))
        {
            return false;
        }

        ours.Status = ehrTask.Status;
        ours.BusinessStatus = ehrTask.BusinessStatus ?? ours.BusinessStatus;
        ours.Owner = ehrTask.Owner ?? ours.Owner;
        ours.LastModifiedElement = ehrTask.LastModifiedElement
            ?? (ehrTask.Meta?.LastUpdated is { } updated ? new FhirDateTime(updated) : null)
            ?? ours.LastModifiedElement;
        await store.PutAsync(ours, patientId, cancellationToken);
        logger.LogInformation("Task {TaskId} is {Status} after an update from {Source}", ours.Id, ours.Status, source);
        return true;
    }

    /// <summary><c>Patient/{id}</c>, relative or absolute (the last two segments).</summary>
    private static string? PatientIdOf(string? reference)
    {
        var parts = (reference ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2 && parts[^2] == "Patient" ? parts[^1] : null;
    }

    private static bool Same(Base? a, Base? b) => a is null ? b is null : b is not null && a.IsExactly(b);
}
