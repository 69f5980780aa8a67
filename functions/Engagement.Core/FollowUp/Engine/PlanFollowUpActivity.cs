using Engagement.Fhir;
using Engagement.Hosting;
using Hl7.Fhir.Model;
using Microsoft.DurableTask;
using Microsoft.Extensions.Options;
using Task = System.Threading.Tasks.Task;

namespace Engagement.FollowUp.Engine;

/// <summary>
/// Lays the run out in time for this patient (time zone, contact window, SecondsPerDay) and creates what a clinician
/// expects to see: a CarePlan instantiating the protocol and a Task per activity occurrence. Idempotent: fixed ids,
/// create-if-not-exists.
/// </summary>
public sealed class PlanFollowUpActivity(
    IPatientDirectory patients,
    IFhirResourceStore store,
    FollowUpIndex index,
    TimeProvider time,
    IOptionsMonitor<EngagementOptions> engagement,
    IOptions<PreferenceDefaults> defaults) : TaskActivity<FollowUpInput, FollowUpPlan>
{
    public override async Task<FollowUpPlan> RunAsync(TaskActivityContext context, FollowUpInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var ct = CancellationToken.None;
        var patient = await patients.FindAsync(input.Source, input.PatientId, ct);
        var preferences = PatientPreferencesFor(patient, defaults.Value);
        var secondsPerDay = engagement.CurrentValue.SecondsPerDay;
        var schedule = new FollowUpScheduler(time).Schedule(input.Protocol, input.AnchorUtc, preferences, secondsPerDay);

        var activities = input.Protocol.Activities.ToDictionary(a => a.Id, StringComparer.Ordinal);
        var occurrences = schedule.Occurrences.OrderBy(o => o.DueUtc).Select(o =>
        {
            var activity = activities[o.ActivityId];
            var lastContact = o.RemindersUtc.Length > 0 ? o.RemindersUtc[^1] : o.DueUtc;
            var waitEnds = o.EscalationUtc ?? lastContact + Scale(activity.ResponseWindow, secondsPerDay);
            return new PlannedOccurrence(
                o.Key, o.ActivityId, activity.Title, FollowUpIds.Task(input.InstanceId, o.Key),
                o.DueUtc, [.. o.RemindersUtc], waitEnds, o.LinkExpiresUtc, activity.Escalation is not null,
                // Skipped only when even its response window has passed (a CarePlan with activities in the past);
                // an occurrence due moments ago — the run started late — still goes out.
                IsPast: waitEnds < time.GetUtcNow());
        }).ToList();

        var carePlanId = FollowUpIds.CarePlan(input.InstanceId);
        await store.CreateIfNotExistsAsync(BuildCarePlan(input, carePlanId, occurrences), input.PatientId, ct);
        foreach (var occurrence in occurrences)
        {
            await store.CreateIfNotExistsAsync(BuildTask(input, carePlanId, occurrence, activities[occurrence.ActivityId]), input.PatientId, ct);
        }

        await index.UpsertRunAsync(input.PatientId, input.InstanceId, input.Protocol.Id, input.Protocol.Title, "running", ct);
        await index.AppendAsync(input.InstanceId, input.AnchorUtc, "planned", null, $"{occurrences.Count} activities", ct);
        return new FollowUpPlan(carePlanId, occurrences, defaults.Value.PatientWaitInterval, Math.Max(0, defaults.Value.PatientWaitAttempts));
    }

    internal static PatientPreferences PatientPreferencesFor(Patient? patient, PreferenceDefaults defaults) =>
        PatientPreferences.From(patient ?? new Patient(), defaults);

    /// <summary>Protocol durations on the shrunken clock (months count as 30 days).</summary>
    internal static TimeSpan Scale(ProtocolDuration duration, double secondsPerDay)
    {
        var days = duration.Unit switch
        {
            ProtocolTimeUnit.Minutes => duration.Value / 1440m,
            ProtocolTimeUnit.Hours => duration.Value / 24m,
            ProtocolTimeUnit.Days => duration.Value,
            ProtocolTimeUnit.Weeks => duration.Value * 7m,
            ProtocolTimeUnit.Months => duration.Value * 30m,
            _ => duration.Value,
        };
        return TimeSpan.FromSeconds((double)days * secondsPerDay);
    }

    private static CarePlan BuildCarePlan(FollowUpInput input, string carePlanId, List<PlannedOccurrence> occurrences)
    {
        var carePlan = new CarePlan
        {
            Id = carePlanId,
            Meta = new Meta { Profile = [FollowUpIds.Base + "/StructureDefinition/engagement-careplan"] },
            Identifier = [new Identifier(FollowUpIds.CarePlanIdentifierSystem, input.InstanceId)],
            Status = RequestStatus.Active,
            Intent = CarePlan.CarePlanIntent.Plan,
            Title = input.Protocol.Title ?? input.Protocol.Id,
            Subject = new ResourceReference("Patient/" + input.PatientId),
            Period = new Period { StartElement = new FhirDateTime(input.AnchorUtc) },
            Activity = [.. occurrences.Select(o => new CarePlan.ActivityComponent { Reference = new ResourceReference("Task/" + o.TaskId) })],
        };
        if (input.Protocol.SourceType == "PlanDefinition" && input.Protocol.Url is { } url)
        {
            carePlan.InstantiatesCanonical = [input.Protocol.Version is { } v ? $"{url}|{v}" : url];
        }
        else if (input.TriggerType == "CarePlan")
        {
            carePlan.BasedOn = [new ResourceReference("CarePlan/" + input.TriggerId)];
        }

        return carePlan;
    }

    private static Hl7.Fhir.Model.Task BuildTask(FollowUpInput input, string carePlanId, PlannedOccurrence occurrence, ProtocolActivity activity)
    {
        var questionnaire = activity.Content.QuestionnaireCanonical;
        var task = new Hl7.Fhir.Model.Task
        {
            Id = occurrence.TaskId,
            Meta = new Meta { Profile = [FollowUpIds.Base + "/StructureDefinition/engagement-task"] },
            Identifier = [new Identifier(FollowUpIds.TaskIdentifierSystem, $"{input.InstanceId}/{occurrence.Key}")],
            GroupIdentifier = new Identifier(FollowUpIds.FollowUpIdentifierSystem, input.InstanceId),
            BasedOn = [new ResourceReference("CarePlan/" + carePlanId)],
            Status = Hl7.Fhir.Model.Task.TaskStatus.Requested,
            Intent = Hl7.Fhir.Model.Task.TaskIntent.Plan,
            Priority = RequestPriority.Routine,
            Code = new CodeableConcept(FollowUpIds.TaskCodeSystem, questionnaire is null ? "engagement-message" : "complete-questionnaire"),
            Description = occurrence.Title,
            For = new ResourceReference("Patient/" + input.PatientId),
            AuthoredOnElement = new FhirDateTime(input.AnchorUtc),
            ExecutionPeriod = new Period { StartElement = new FhirDateTime(occurrence.DueUtc), EndElement = new FhirDateTime(occurrence.WaitEndsUtc) },
        };
        if (questionnaire is not null)
        {
            task.Focus = new ResourceReference(questionnaire);
            task.Input.Add(new Hl7.Fhir.Model.Task.ParameterComponent
            {
                Type = new CodeableConcept(FollowUpIds.TaskCodeSystem, "questionnaire"),
                Value = new Canonical(questionnaire),
            });
        }

        return task;
    }
}
