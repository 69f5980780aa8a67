using System.Net;
using Azure;
using Engagement.Fhir;
using Engagement.WriteBack;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Logging;

namespace Engagement.Preferences;

/// <summary>How a preference change ended: the updated Patient, or why nothing was written.</summary>
public sealed record PreferenceUpdate(Patient? Patient, bool PatientUnknown, string? Problem)
{
    public static PreferenceUpdate Unknown { get; } = new(null, true, null);
}

/// <summary>
/// The one place the engagement page changes a Patient. The follow-up engine reads the stored Patient at every send
/// (<see cref="FollowUp.Engine.StoredPatientDirectory"/>), so a change here decides the channel and language of the
/// next message of every running follow-up. The update is ETag-conditional: a concurrent change (another tab, intake
/// storing the EHR's version) is re-read and the change applied again, so neither is lost. The change is then asked to
/// be written into the EHR's Patient at each source of the patient that accepts writes.
/// </summary>
public sealed class PatientPreferenceUpdater(IFhirResourceStore store, WriteBackFhirResourceStore writeBack, ILogger<PatientPreferenceUpdater> logger)
{
    private const int MaxConflictRetries = 8;

    /// <summary>
    /// Applies <paramref name="change"/> to the stored Patient. Nothing is written when the Patient is unknown or the
    /// change does not fit it (a channel the patient has no contact for).
    /// </summary>
    /// <remarks>
    /// The write-back to the EHR is asked for after the store write: a failure in between answers 5xx and the
    /// patient's retry asks again (the store write is then a no-op change). The EHR's next version of the Patient keeps
    /// the channel and window chosen here (<see cref="Engagement.FollowUp.PatientPreferences.KeepPatientChoices"/>);
    /// its language is the EHR's, which is the chosen one once the write-back reached it.
    /// </remarks>
    public async Task<PreferenceUpdate> UpdatePatientPreferencesAsync(string patientId, PreferenceChange change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(change);
        for (var attempt = 0; attempt < MaxConflictRetries; attempt++)
        {
            if (await store.GetAsync("Patient", patientId, cancellationToken) is not { Resource: Patient stored } current)
            {
                return PreferenceUpdate.Unknown;
            }

            var patient = (Patient)stored.DeepCopy();
            if (change.Check(patient) is { } problem)
            {
                return new PreferenceUpdate(null, false, problem);
            }

            change.ApplyTo(patient);
            try
            {
                await store.PutAsync(patient, current.PatientId ?? patientId, cancellationToken, ifMatch: current.ETag);
            }
            catch (RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.PreconditionFailed)
            {
                continue;
            }

            await writeBack.AskPatientPreferencesAsync(current.PatientId ?? patientId, change, cancellationToken);
            logger.LogInformation(
                "Patient preferences changed through an engagement link (channel {ChannelChanged}, language {LanguageChanged}, window {WindowChanged})",
                change.Channel is not null, change.Language is not null, change.Window is not null);
            return new PreferenceUpdate(patient, false, null);
        }

        throw new InvalidOperationException("The Patient kept changing; try again.");
    }
}
