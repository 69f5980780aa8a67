using Engagement.Fhir;
using Engagement.FollowUp.Engine;
using Engagement.Integration.Tests.Infrastructure;
using Hl7.Fhir.Model;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.FollowUp;

/// <summary>Protocol runs end to end on the durable engine, at half a second per protocol day.</summary>
public sealed class FollowUpEngineTests : IAsyncLifetime
{
    private FollowUpHarness harness = null!;

    public async Task InitializeAsync() => harness = await FollowUpHarness.StartAsync();

    public async Task DisposeAsync() => await harness.DisposeAsync();

    private async Task<(string PatientId, string InstanceId)> DischargeAsync(string language = "en", string? phone = "+15555550123", double dischargeInSeconds = 3)
    {
        var patientId = FollowUpHarness.NewId("pat");
        await harness.Store.PutAsync(FollowUpHarness.Patient(patientId, language, phone), patientId, default);
        // Discharged a few (protocol) days from now: on a loaded machine, planning must not find day 2 already over.
        var encounter = FollowUpHarness.InpatientDischarge(FollowUpHarness.NewId("enc"), patientId, harness.Now.AddSeconds(dischargeInSeconds));
        var started = await harness.Starter.OnResourceChangedAsync(harness.Client, "ehr1", encounter, null, harness.Now, default);
        return (patientId, Assert.Single(started));
    }

    [Fact]
    public async Task Post_discharge_without_answers_sends_each_activity_with_reminders_escalates_and_completes()
    {
        var (patientId, instanceId) = await DischargeAsync();

        var done = await harness.WaitForCompletionAsync(instanceId);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal(FollowUpOutcomes.Completed, done.ReadOutputAs<FollowUpResult>()!.Outcome);
        var carePlan = Assert.Single(await harness.ForPatientAsync<CarePlan>(patientId));
        Assert.Equal("http://engagement-functions.org/fhir/PlanDefinition/post-discharge", carePlan.InstantiatesCanonical.Single()!.Split('|')[0]);
        Assert.Equal(RequestStatus.Completed, carePlan.Status);
        var tasks = await harness.ForPatientAsync<Hl7.Fhir.Model.Task>(patientId);
        var patientTasks = tasks.Where(t => t.Code!.Coding[0].Code != "follow-up-no-response").ToList();
        Assert.Equal(3, patientTasks.Count); // check-in day 2, PHQ-9 day 7, PHQ-9 day 30
        Assert.All(patientTasks, t => Assert.Equal(Hl7.Fhir.Model.Task.TaskStatus.Failed, t.Status));
        Assert.Contains(patientTasks, t => t.Code!.Coding[0].Code == "complete-questionnaire" && t.Focus?.Reference == "http://engagement-functions.org/fhir/Questionnaire/phq-9");
        var escalations = tasks.Where(t => t.Code!.Coding[0].Code == "follow-up-no-response").ToList();
        Assert.Equal(3, escalations.Count);
        Assert.Contains(escalations, t => t.Priority == RequestPriority.Urgent);

        var messages = await harness.MessagesForAsync(instanceId);
        Assert.Equal(9, messages.Count(m => m.Channel == "sms")); // 3 activities x (1 + 2 reminders)
        Assert.Equal(3, messages.Count(m => m.Channel == "clinician"));
        Assert.Equal(messages.Count, messages.Select(m => m.MessageId).Distinct().Count());
        Assert.All(messages.Where(m => m.TemplateCode.StartsWith("questionnaire", StringComparison.Ordinal)),
            m => Assert.StartsWith("https://engage.example.test/engage/", m.Link, StringComparison.Ordinal));
        Assert.Equal(9, (await harness.ForPatientAsync<Communication>(patientId)).Count);
    }

    [Fact]
    public async Task A_contact_window_changed_after_planning_defers_the_next_send_to_its_opening_and_moves_later_waits_with_it()
    {
        // The window must change between planning and the first send. At the default 3 s, a loaded machine (./test at
        // 09:50Z) took so long to start the run and read its status that the check-in had gone out before the change,
        // and the next activity was deferred instead; 12 s leave the test that long to store the change.
        var (patientId, instanceId) = await DischargeAsync(dischargeInSeconds: 12);
        var planned = (await harness.WaitForStateAsync(instanceId, s => s is { State: "waiting", NextDueUtc: not null })).ReadCustomStatusAs<FollowUpStatus>()!;

        // The patient now wants to be reached only in a window that leaves out the planned send's local time (days land on
        // the anchor's time of day in New York): from 3 to 5 hours later.
        var zone = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
        var runAnchor = (await harness.Client.GetInstanceAsync(instanceId, getInputsAndOutputs: true))!.ReadInputAs<FollowUpInput>()!.AnchorUtc;
        var localDue = TimeOnly.FromDateTime(TimeZoneInfo.ConvertTime(
            runAnchor.AddTicks((long)((planned.NextDueUtc!.Value - runAnchor).Ticks * (86400m / (decimal)FollowUpHarness.SecondsPerDay))), zone).DateTime);
        var (start, end) = localDue.Hour is >= 3 and < 19 ? (localDue.AddHours(3), localDue.AddHours(5)) : (localDue.AddHours(-5), localDue.AddHours(-3));
        var patient = FollowUpHarness.Patient(patientId);
        patient.Extension.Add(new Extension
        {
            Url = Engagement.FollowUp.ProtocolUrls.ContactWindow,
            Extension =
            [
                new Extension("start", new Time(start.ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture))),
                new Extension("end", new Time(end.ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture))),
            ],
        });
        await harness.Store.PutAsync(patient, patientId, default);

        // Deferred: the first send due after the change was stored. Normally the planned one; on a machine loaded enough
        // (CI, 2026-12-07) the check-in went out before the change, and the day-7 send, at the same local time, is the
        // one the new window leaves out. What follows holds for whichever it is.
        var deferred = (await harness.WaitForStateAsync(instanceId, s => s?.State == "waiting-for-window")).ReadCustomStatusAs<FollowUpStatus>()!;
        var occurrence = deferred.NextOccurrence!;
        Assert.True(occurrence == planned.NextOccurrence || deferred.NextDueUtc > planned.NextDueUtc!.Value.AddSeconds(FollowUpHarness.SecondsPerDay), occurrence);
        // Back on the protocol clock (wall-clock instants are scaled from the anchor): the opening is the new window's start.
        var protocolOpens = runAnchor.AddTicks((long)((deferred.NextDueUtc!.Value - runAnchor).Ticks * (86400m / (decimal)FollowUpHarness.SecondsPerDay)));
        var opensLocal = TimeOnly.FromDateTime(TimeZoneInfo.ConvertTime(protocolOpens, zone).DateTime);
        var off = (opensLocal - start).TotalMinutes; // TimeOnly subtraction wraps: 02:59:59 - 03:00 is 23:59:59
        Assert.InRange(Math.Min(off, (24 * 60) - off), 0, 2); // at the new window's start (protocol time, scaled back)
        Assert.True(deferred.NextDueUtc > planned.NextDueUtc);

        await harness.WaitForCompletionAsync(instanceId);
        var history = await harness.Services.GetRequiredService<FollowUpIndex>().HistoryAsync(instanceId, default);
        var skipped = Assert.Single(history, h => h.Kind == "outside-window" && h.Occurrence == occurrence);
        var sent = history.Where(h => h.Kind == "sent" && h.Occurrence == occurrence).ToList();
        Assert.True(Assert.Single(sent).At >= deferred.NextDueUtc!.Value.AddMilliseconds(-50)); // sent once, when the window opened
        // Its first reminder comes one response window (a protocol day) after the deferred send's planned instant, not at
        // the originally planned one (at least 3 protocol hours earlier). Measured from the planned instant, not from when
        // the send happened to run: a timer fires at its due time or later, so a slow machine cannot fail this.
        var reminded = history.Where(h => h.Kind == "reminded" && h.Occurrence == occurrence).OrderBy(h => h.At).ToList();
        Assert.NotEmpty(reminded);
        Assert.True(reminded[0].At >= deferred.NextDueUtc!.Value.AddSeconds(FollowUpHarness.SecondsPerDay).AddMilliseconds(-5),
            "the reminder waited a response window (a protocol day) after the deferred send");
        Assert.Equal(start.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture) + "-" + end.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture), skipped.Detail);
        var activity = occurrence[..occurrence.LastIndexOf('-')];
        Assert.Single(await harness.MessagesForAsync(instanceId), m => m.ActivityId == activity && m.Channel != "clinician" && !m.TemplateCode.EndsWith("-reminder", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_response_ends_the_wait_so_no_reminder_or_escalation_follows()
    {
        var (patientId, instanceId) = await DischargeAsync();
        var answered = new HashSet<string>();
        while (true)
        {
            var instance = await harness.Client.GetInstanceAsync(instanceId, getInputsAndOutputs: true);
            if (instance!.IsCompleted)
            {
                break;
            }

            // Answered as soon as the occurrence is next (durable events wait in the orchestration until it listens),
            // so a loaded machine cannot let a half-second reminder timer win the race.
            if (instance.ReadCustomStatusAs<FollowUpStatus>() is { State: "waiting" or "awaiting-response", NextOccurrence: { } key } && answered.Add(key))
            {
                await harness.Client.RaiseEventAsync(instanceId, FollowUpEvents.Response(key), new FollowUpResponse("questionnaire", null, 3, harness.Now));
            }

            await Task.Delay(50);
        }

        var messages = await harness.MessagesForAsync(instanceId);
        Assert.Equal(3, answered.Count);
        Assert.Equal(3, messages.Count);
        Assert.DoesNotContain(messages, m => m.TemplateCode.EndsWith("-reminder", StringComparison.Ordinal) || m.Channel == "clinician");
        Assert.All(await harness.ForPatientAsync<Hl7.Fhir.Model.Task>(patientId), t => Assert.Equal(Hl7.Fhir.Model.Task.TaskStatus.Completed, t.Status));
    }

    [Fact]
    public async Task Cancelling_revokes_the_care_plan_cancels_open_tasks_and_sends_nothing_more()
    {
        var (patientId, instanceId) = await DischargeAsync();
        await harness.WaitForStateAsync(instanceId, s => s?.State == "awaiting-response");

        Assert.True(await FollowUpStarter.CancelAsync(harness.Client, instanceId, "test", default));
        var done = await harness.WaitForCompletionAsync(instanceId);

        Assert.Equal(FollowUpOutcomes.Cancelled, done.ReadOutputAs<FollowUpResult>()!.Outcome);
        Assert.Equal(RequestStatus.Revoked, Assert.Single(await harness.ForPatientAsync<CarePlan>(patientId)).Status);
        var tasks = await harness.ForPatientAsync<Hl7.Fhir.Model.Task>(patientId);
        Assert.All(tasks, t => Assert.Equal(Hl7.Fhir.Model.Task.TaskStatus.Cancelled, t.Status));
        var sentBefore = (await harness.MessagesForAsync(instanceId)).Count;
        await Task.Delay(TimeSpan.FromSeconds(FollowUpHarness.SecondsPerDay * 3));
        Assert.Equal(sentBefore, (await harness.MessagesForAsync(instanceId)).Count);
        Assert.False(await FollowUpStarter.CancelAsync(harness.Client, instanceId, "again", default));
    }

    [Fact]
    public async Task An_opt_out_ends_outreach_at_the_next_send()
    {
        var (patientId, instanceId) = await DischargeAsync();
        await harness.Store.PutAsync(new Consent
        {
            Id = "optout-" + patientId,
            Status = Consent.ConsentState.Active,
            Scope = new CodeableConcept("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy"),
            Category = [new CodeableConcept("http://loinc.org", "59284-0")],
            Patient = new ResourceReference("Patient/" + patientId),
            DateTimeElement = new FhirDateTime(harness.Now),
            Provision = new Consent.provisionComponent { Type = Consent.ConsentProvisionType.Deny },
        }, patientId, default);

        var done = await harness.WaitForCompletionAsync(instanceId);

        Assert.Equal(FollowUpOutcomes.OptedOut, done.ReadOutputAs<FollowUpResult>()!.Outcome);
        Assert.Empty(await harness.MessagesForAsync(instanceId));
    }

    [Fact]
    public async Task Redelivered_and_concurrent_triggers_start_one_run()
    {
        var patientId = FollowUpHarness.NewId("pat");
        await harness.Store.PutAsync(FollowUpHarness.Patient(patientId), patientId, default);
        var encounter = FollowUpHarness.InpatientDischarge(FollowUpHarness.NewId("enc"), patientId, harness.Now);

        var attempts = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ =>
            harness.Starter.OnResourceChangedAsync(harness.Client, "ehr1", encounter, null, harness.Now, default)));

        Assert.Single(attempts.SelectMany(a => a));
        var again = await harness.Starter.OnResourceChangedAsync(harness.Client, "ehr1", encounter, null, harness.Now, default);
        Assert.Empty(again);
    }

    [Fact]
    public async Task Outpatient_or_unfinished_encounters_start_nothing()
    {
        var patientId = FollowUpHarness.NewId("pat");
        var outpatient = FollowUpHarness.InpatientDischarge(FollowUpHarness.NewId("enc"), patientId, harness.Now);
        outpatient.Class = new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "AMB");
        var inProgress = FollowUpHarness.InpatientDischarge(FollowUpHarness.NewId("enc"), patientId, harness.Now);
        inProgress.Status = Encounter.EncounterStatus.InProgress;

        Assert.Empty(await harness.Starter.OnResourceChangedAsync(harness.Client, "ehr1", outpatient, null, harness.Now, default));
        Assert.Empty(await harness.Starter.OnResourceChangedAsync(harness.Client, "ehr1", inProgress, null, harness.Now, default));
    }

    [Fact]
    public async Task A_Spanish_preferring_patient_gets_Spanish_outreach()
    {
        var (_, instanceId) = await DischargeAsync(language: "es");
        await harness.WaitForStateAsync(instanceId, s => s?.State == "awaiting-response");

        var first = (await harness.MessagesForAsync(instanceId)).First(m => !m.TemplateCode.EndsWith("-reminder", StringComparison.Ordinal));
        Assert.Equal("es", first.Language);
        Assert.StartsWith("Su equipo de atención", first.Text, StringComparison.Ordinal);
        await FollowUpStarter.CancelAsync(harness.Client, instanceId, "done", default);
    }

    [Fact]
    public async Task A_patient_without_any_contact_gets_no_message_but_the_care_team_is_told()
    {
        var (_, instanceId) = await DischargeAsync(phone: null);
        await harness.WaitForCompletionAsync(instanceId);

        var messages = await harness.MessagesForAsync(instanceId);
        Assert.DoesNotContain(messages, m => m.Channel != "clinician");
        Assert.Equal(3, messages.Count(m => m.Channel == "clinician"));
    }

    [Fact]
    public async Task Depression_monitoring_stops_early_after_two_consecutive_scores_below_five()
    {
        var patientId = FollowUpHarness.NewId("pat");
        await harness.Store.PutAsync(FollowUpHarness.Patient(patientId), patientId, default);
        var started = await harness.Starter.OnResourceChangedAsync(harness.Client, "ehr1", FollowUpHarness.Patient(patientId), "depression-monitoring-start", harness.Now.AddSeconds(3), default);
        var instanceId = Assert.Single(started);

        var scores = new Queue<decimal>([12, 4, 3]);
        var answered = new HashSet<string>();
        while (!(await harness.Client.GetInstanceAsync(instanceId))!.IsCompleted)
        {
            var instance = await harness.Client.GetInstanceAsync(instanceId, getInputsAndOutputs: true);
            if (instance!.ReadCustomStatusAs<FollowUpStatus>() is { State: "awaiting-response", NextOccurrence: { } key } && answered.Add(key))
            {
                await harness.Client.RaiseEventAsync(instanceId, FollowUpEvents.Response(key), new FollowUpResponse("questionnaire", null, scores.Dequeue(), harness.Now));
            }

            await Task.Delay(50);
        }

        var done = await harness.WaitForCompletionAsync(instanceId);
        Assert.Equal(FollowUpOutcomes.StoppedEarly, done.ReadOutputAs<FollowUpResult>()!.Outcome);
        Assert.Equal(3, answered.Count); // 12 (go on), 4 (one low), 3 (two low: stop) — of six planned
    }

    [Fact]
    public async Task A_PlanDefinition_added_at_run_time_starts_on_its_trigger_without_code()
    {
        var eventName = "runtime-protocol-" + Guid.NewGuid().ToString("N")[..8];
        var plan = new PlanDefinition
        {
            Id = "runtime-" + Guid.NewGuid().ToString("N")[..8],
            Status = PublicationStatus.Active,
            Title = "Runtime-loaded education protocol",
            Action =
            [
                new PlanDefinition.ActionComponent
                {
                    Title = "root",
                    Trigger = [new TriggerDefinition { Type = TriggerDefinition.TriggerType.NamedEvent, Name = eventName }],
                    Action =
                    [
                        new PlanDefinition.ActionComponent
                        {
                            ElementId = "read",
                            Title = "Read this",
                            Timing = new Duration { Value = 1, Unit = "d", System = "http://unitsofmeasure.org", Code = "d" },
                            Definition = new Canonical("http://engagement-functions.org/fhir/Questionnaire/phq-9"),
                        },
                    ],
                },
            ],
        };
        plan.Url = "http://engagement-functions.org/fhir/PlanDefinition/" + plan.Id;
        // As PUT /api/fhir/PlanDefinition/{id} does: stored, and the catalog on this instance reloaded at once.
        await harness.Services.GetRequiredService<FhirDefinitions>().SaveAsync(plan, null, default);
        var patientId = FollowUpHarness.NewId("pat");
        await harness.Store.PutAsync(FollowUpHarness.Patient(patientId), patientId, default);

        var started = await harness.Starter.OnResourceChangedAsync(harness.Client, "ehr1", FollowUpHarness.Patient(patientId), eventName, harness.Now.AddSeconds(3), default);

        var instanceId = Assert.Single(started);
        var done = await harness.WaitForCompletionAsync(instanceId);
        Assert.Equal(FollowUpOutcomes.Completed, done.ReadOutputAs<FollowUpResult>()!.Outcome);
        Assert.Single(await harness.MessagesForAsync(instanceId));
    }

    [Fact]
    public async Task An_active_EHR_CarePlan_schedules_from_itself_and_revoking_it_cancels_the_run()
    {
        var patientId = FollowUpHarness.NewId("pat");
        await harness.Store.PutAsync(FollowUpHarness.Patient(patientId), patientId, default);
        var carePlan = new CarePlan
        {
            Id = FollowUpHarness.NewId("cp"),
            Meta = new Meta { VersionId = "1" },
            Status = RequestStatus.Active,
            Intent = CarePlan.CarePlanIntent.Plan,
            Subject = new ResourceReference("Patient/" + patientId),
            Period = new Period { StartElement = new FhirDateTime(harness.Now) },
            Activity =
            [
                new CarePlan.ActivityComponent
                {
                    Detail = new CarePlan.DetailComponent
                    {
                        Status = CarePlan.CarePlanActivityStatus.Scheduled,
                        InstantiatesCanonical = ["http://engagement-functions.org/fhir/Questionnaire/phq-9"],
                        Scheduled = new FhirString("day 20"),
                        Description = "PHQ-9",
                    },
                },
            ],
        };

        var instanceId = Assert.Single(await harness.Starter.OnResourceChangedAsync(harness.Client, "ehr1", carePlan, null, harness.Now, default));
        await harness.WaitForStateAsync(instanceId, s => s?.State == "waiting");
        carePlan.Status = RequestStatus.Revoked;
        await harness.Starter.OnResourceChangedAsync(harness.Client, "ehr1", carePlan, null, harness.Now, default);

        var done = await harness.WaitForCompletionAsync(instanceId);
        Assert.Equal(FollowUpOutcomes.Cancelled, done.ReadOutputAs<FollowUpResult>()!.Outcome);
        Assert.Empty(await harness.MessagesForAsync(instanceId));
    }
}
