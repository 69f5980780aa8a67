using System.Diagnostics;
using System.Globalization;
using Engagement.Conversations;
using Engagement.Fhir;
using Engagement.Hosting;
using Engagement.Measures;
using Engagement.Outreach;
using Engagement.Telemetry;
using Hl7.Fhir.Model;
using Microsoft.DurableTask;
using Microsoft.Extensions.Options;

namespace Engagement.FollowUp.Engine;

/// <summary>
/// Decides and records one message: honours the opt-out and the patient's contact window as they are at send time
/// (a window changed since the run was planned defers the message to when it opens), picks the channel and language,
/// issues the engagement link for questionnaires, renders the localized text, writes the outbox row and the FHIR
/// Communication in this same step. Idempotent: the message id is (instance, occurrence, attempt).
/// </summary>
public sealed class SendOutreachActivity(
    IPatientDirectory patients,
    IOutreachConsent consent,
    IFollowUpLinks links,
    MessageTemplates templates,
    OutboxStore outbox,
    IFhirResourceStore store,
    FollowUpIndex index,
    ConversationStore conversations,
    TimeProvider time,
    IOptions<PreferenceDefaults> defaults,
    IOptionsMonitor<EngagementOptions> engagement,
    IEngagementRecorder recorder) : TaskActivity<SendRequest, SendResult>
{
    public override async Task<SendResult> RunAsync(TaskActivityContext context, SendRequest input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var ct = CancellationToken.None;
        var run = input.Run;
        var occurrence = input.Occurrence;
        using var span = EngagementTelemetry.StartContinued("followup.send", ActivityKind.Internal, run.TraceParent);
        span?.SetTag("engagement.instance", run.InstanceId);
        span?.SetTag("engagement.occurrence", occurrence.Key);
        span?.SetTag("engagement.attempt", input.Attempt);
        var now = time.GetUtcNow();
        if (await consent.IsOptedOutAsync(run.PatientId, ct))
        {
            await index.AppendAsync(run.InstanceId, now, "opted-out", occurrence.Key, null, ct);
            await MeasureEvents.RecordOptOutAsync(recorder, index, run, now, ct);
            return new SendResult(SendOutcome.OptedOut, null, null);
        }

        var patient = await patients.FindAsync(run.Source, run.PatientId, ct);
        if (patient is null)
        {
            await index.AppendAsync(run.InstanceId, now, "patient-unknown", occurrence.Key, null, ct);
            return new SendResult(SendOutcome.PatientUnknown, null, null);
        }

        var preferences = PlanFollowUpActivity.PatientPreferencesFor(patient, defaults.Value);
        if (input.AtUtc is { } plannedAt
            && FollowUpScheduler.WindowOpensAt(run.AnchorUtc, plannedAt, preferences.ContactWindow, preferences.TimeZone, engagement.CurrentValue.SecondsPerDay) is { } opens)
        {
            // Planned inside the window the patient had then; they have changed it (or their time zone) since.
            await index.AppendOnceAsync(run.InstanceId, now, "outside-window", occurrence.Key, "window-" + input.Attempt.ToString(CultureInfo.InvariantCulture), preferences.ContactWindow.ToString(), ct);
            return new SendResult(SendOutcome.OutsideWindow, null, null, opens);
        }

        var (channel, address) = ChooseChannel(patient, preferences);
        if (channel is null || address is null)
        {
            await index.AppendAsync(run.InstanceId, now, "no-channel", occurrence.Key, null, ct);
            return new SendResult(SendOutcome.NoChannel, null, null);
        }

        var activity = run.Protocol.Activities.First(a => a.Id == occurrence.ActivityId);
        var language = templates.ResolveLanguage(preferences.Language);
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal) { ["minutes"] = "3" };
        Uri? link = null;
        if (activity.Content.QuestionnaireCanonical is { } questionnaire)
        {
            link = await links.IssueAsync(run.PatientId, occurrence.TaskId, questionnaire, run.InstanceId, occurrence.LinkExpiresUtc, ct);
            parameters["link"] = link.ToString();
        }

        var local = TimeZoneInfo.ConvertTime(run.AnchorUtc, preferences.TimeZone);
        var culture = CultureInfo.GetCultureInfo(language);
        parameters["date"] = local.ToString("D", culture);
        parameters["time"] = local.ToString("t", culture);

        var template = TemplateFor(activity.Content, input.Attempt);
        var text = templates.Render(template, language, parameters);
        var messageId = OutreachMessage.CreateId(run.InstanceId, occurrence.Key, input.Attempt.ToString(CultureInfo.InvariantCulture));
        var message = new OutreachMessage
        {
            MessageId = messageId,
            PatientId = run.PatientId,
            Channel = channel,
            Language = language,
            TemplateCode = template,
            To = address,
            Text = text,
            Link = link?.ToString(),
            ProtocolId = run.Protocol.Id,
            InstanceId = run.InstanceId,
            ActivityId = occurrence.ActivityId,
            CreatedAt = now,
            TraceParent = EngagementTelemetry.CurrentTraceParent,
        };
        // The run's cohort is known before the message can be dispatched: the dispatcher's message-sent (and a receipt's
        // delivered) event of this very first message fills its age band from it. The Communication and the address
        // come before the outbox row too: once the row exists the dispatcher can hand the message to the gateway, and
        // a fast receipt or reply must find what it answers.
        await recorder.RememberRunAsync(run.InstanceId, new RunCohort(run.Protocol.Id, Cohorts.AgeBand(patient?.BirthDate, now), language, channel), ct);
        await store.CreateIfNotExistsAsync(BuildCommunication(run, occurrence, messageId, channel, language, link is null ? text : text.Replace(link.ToString(), "[engagement link]", StringComparison.Ordinal), now), run.PatientId, ct);
        await conversations.RecordOutboundAsync(message, ct);
        await outbox.EnqueueAsync(message, ct);
        if (input.Attempt == 0 && await store.GetAsync("Task", occurrence.TaskId, ct) is { Resource: Hl7.Fhir.Model.Task task } stored
            && task.Status == Hl7.Fhir.Model.Task.TaskStatus.Requested)
        {
            task.Status = Hl7.Fhir.Model.Task.TaskStatus.Ready;
            await store.PutAsync(task, run.PatientId, ct);
        }

        // Recorded at every send, counted once: its time is the run's anchor, not now — the recorder de-duplicates
        // within a day, and a run's sends span days (across midnight UTC it was counted once per day).
        await recorder.RecordAsync(new EngagementEvent { Id = "engaged-" + run.InstanceId, Kind = EngagementEventKinds.Engaged, OccurredAt = run.AnchorUtc, InstanceId = run.InstanceId }, ct);
        await recorder.RecordAsync(input.Attempt == 0
            ? new EngagementEvent
            {
                Id = $"due-{run.InstanceId}-{occurrence.Key}",
                Kind = EngagementEventKinds.ActivityDue,
                OccurredAt = occurrence.DueUtc,
                InstanceId = run.InstanceId,
                Questionnaire = activity.Content.QuestionnaireCanonical,
            }
            : new EngagementEvent
            {
                Id = "reminder-" + messageId,
                Kind = EngagementEventKinds.ReminderSent,
                OccurredAt = now,
                InstanceId = run.InstanceId,
                Questionnaire = activity.Content.QuestionnaireCanonical,
            }, ct);
        await index.AppendOnceAsync(run.InstanceId, now, input.Attempt == 0 ? "sent" : "reminded", occurrence.Key, input.Attempt.ToString(CultureInfo.InvariantCulture), $"{channel}/{language}", ct);
        return new SendResult(SendOutcome.Sent, messageId, channel);
    }

    internal static string TemplateFor(ActivityContent content, int attempt)
    {
        var code = content.MessageTemplateCode ?? (content.QuestionnaireCanonical is not null ? "questionnaire" : "education");
        return attempt == 0 ? code : code + "-reminder";
    }

    /// <summary>The preferred channel the patient has an address for, else the first fallback that has one.</summary>
    internal static (string? Channel, string? Address) ChooseChannel(Patient? patient, PatientPreferences preferences)
    {
        if (patient is null)
        {
            return (null, null);
        }

        foreach (var channel in new[] { preferences.PreferredChannel }.Concat(preferences.FallbackChannels).OfType<string>())
        {
            var address = AddressFor(patient, channel);
            if (!string.IsNullOrWhiteSpace(address))
            {
                return (channel, address);
            }
        }

        return (null, null);
    }

    /// <summary>The patient's address on <paramref name="channel"/>, or null when they have none.</summary>
    internal static string? AddressFor(Patient patient, string channel) => channel switch
    {
        "sms" => patient.Telecom.FirstOrDefault(t => t.System is ContactPoint.ContactPointSystem.Sms or ContactPoint.ContactPointSystem.Phone && t.Use != ContactPoint.ContactPointUse.Old)?.Value,
        "email" => patient.Telecom.FirstOrDefault(t => t.System == ContactPoint.ContactPointSystem.Email && t.Use != ContactPoint.ContactPointUse.Old)?.Value,
        "push" or "portal" => patient.Id,
        _ => null,
    };

    private static Communication BuildCommunication(FollowUpInput run, PlannedOccurrence occurrence, string messageId, string channel, string language, string text, DateTimeOffset now) => new()
    {
        Id = messageId,
        Meta = new Meta { Profile = [FollowUpIds.Base + "/StructureDefinition/engagement-communication"] },
        Identifier = [new Identifier(FollowUpIds.CommunicationIdentifierSystem, messageId)],
        BasedOn = [new ResourceReference("Task/" + occurrence.TaskId)],
        Status = EventStatus.InProgress,
        Subject = new ResourceReference("Patient/" + run.PatientId),
        Recipient = [new ResourceReference("Patient/" + run.PatientId)],
        Medium = [new CodeableConcept(FollowUpIds.Base + "/CodeSystem/engagement-channel", channel)],
        SentElement = new FhirDateTime(now),
        Language = language,
        Payload = [new Communication.PayloadComponent { Content = new FhirString(text) }],
    };
}
