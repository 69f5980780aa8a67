using System.Globalization;
using System.Text.RegularExpressions;
using Engagement.Fhir;
using Engagement.FollowUp;
using Engagement.FollowUp.Engine;
using Engagement.Intake;
using Engagement.Outcomes;
using Engagement.Outreach;
using Engagement.WriteBack;
using Hl7.Fhir.Model;
using Microsoft.DurableTask.Client;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Conversations;

/// <summary>
/// A patient's reply, matched to the message it answers (by our MessageId, else the latest protocol message to the
/// sender's address on that channel), then, in this order: a keyword (STOP/START/HELP and their Spanish forms)
/// changes the outreach Consent and is confirmed; a yes/no to an appointment reminder is recorded and ends that wait;
/// a number answering an open check-in becomes its QuestionnaireResponse (validated, scored, stored like a link
/// submission); anything else is kept as a Communication from the patient with a Task for the care team.
/// Every write has an id derived from the channel and the provider message id, so a retry repeats nothing.
/// </summary>
public sealed partial class ReplyProcessor(
    ConversationStore conversations,
    OutboxStore outbox,
    IFhirResourceStore store,
    MessageTemplates templates,
    DefinitionsTerminology terminology,
    ResponseRecorder recorder,
    FollowUpIndex index,
    SourceRegistry sources,
    WriteBackStore writeBack,
    TimeProvider time)
{
    public const string ReplyKindSystem = FollowUpIds.Base + "/CodeSystem/engagement-reply-kind";
    public const string ConsentProfile = FollowUpIds.Base + "/StructureDefinition/engagement-consent";

    public async Task<InboundResult> HandleAsync(string channel, InboundMessage inbound, DurableTaskClient client, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(inbound);
        var messageId = inbound.MessageId
            ?? (inbound.From is { } from ? await conversations.LatestMessageToAsync(channel, from, cancellationToken) : null);
        if (messageId is null || await outbox.GetAsync(messageId, cancellationToken) is not { } answered)
        {
            return InboundResult.Unprocessable(inbound.MessageId is null
                ? "No message was sent to this address on this channel: the reply cannot be matched to a patient."
                : "Unknown messageId: no outreach message has that id.");
        }

        var reply = new Reply(channel, inbound, answered, "in-" + OutreachMessage.CreateId(channel, inbound.ProviderMessageId!)[4..], time.GetUtcNow());
        var outbound = (await store.GetAsync("Communication", answered.MessageId, cancellationToken))?.Resource as Communication;
        var taskId = outbound?.BasedOn.Select(r => r.Reference).FirstOrDefault(r => r?.StartsWith("Task/", StringComparison.Ordinal) == true)?[5..];
        var task = taskId is null ? null : (await store.GetAsync("Task", taskId, cancellationToken))?.Resource as Hl7.Fhir.Model.Task;
        var isAppointment = answered.TemplateCode.StartsWith("appointment-reminder", StringComparison.Ordinal);
        var (intent, keywordLanguage) = ReplyKeywords.Match(inbound.Text!, isAppointment);
        switch (intent)
        {
            case KeywordIntent.OptOut:
            case KeywordIntent.OptIn:
            case KeywordIntent.Help:
                return await KeywordAsync(reply, intent, keywordLanguage, cancellationToken);
            case KeywordIntent.Confirm or KeywordIntent.Cancel when task is not null:
                return await AppointmentAsync(reply, intent, task!, client, cancellationToken);
        }

        if (task is { Status: not (Hl7.Fhir.Model.Task.TaskStatus.Completed or Hl7.Fhir.Model.Task.TaskStatus.Cancelled) }
            && answered.InstanceId is not null
            && answered.TemplateCode.StartsWith("checkin", StringComparison.Ordinal)
            && Number().IsMatch(inbound.Text!)
            && await CheckInAsync(reply, task, client, cancellationToken) is { } checkIn)
        {
            return checkIn;
        }

        return await QuestionAsync(reply, task, cancellationToken);
    }

    private async Task<InboundResult> KeywordAsync(Reply reply, KeywordIntent intent, string? keywordLanguage, CancellationToken cancellationToken)
    {
        var patientId = reply.Answered.PatientId;
        var (kind, template) = intent switch
        {
            KeywordIntent.OptOut => ("opt-out", "optout-confirmation"),
            KeywordIntent.OptIn => ("opt-in", "optin-confirmation"),
            _ => ("help", "help"),
        };
        await store.CreateIfNotExistsAsync(InboundCommunication(reply, kind, new FhirString(reply.Inbound.Text!.Trim())), patientId, cancellationToken);
        var body = new Dictionary<string, string?> { ["outcome"] = kind, ["communication"] = "Communication/" + reply.CommunicationId };
        var consentId = ConsentId(patientId);
        if (intent == KeywordIntent.OptOut)
        {
            await store.PutAsync(OptOutConsent(consentId, patientId, reply), patientId, cancellationToken);
            body["consent"] = "Consent/" + consentId;
        }
        else if (intent == KeywordIntent.OptIn && (await store.GetAsync("Consent", consentId, cancellationToken))?.Resource is Consent consent)
        {
            consent.Status = Consent.ConsentState.Inactive;
            consent.DateTimeElement = new FhirDateTime(reply.Now);
            consent.Source = new ResourceReference("Communication/" + reply.CommunicationId);
            await store.PutAsync(consent, patientId, cancellationToken);
            body["consent"] = "Consent/" + consentId;
        }

        // The patient's language; a Spanish keyword is answered in Spanish whatever we had on file.
        var language = templates.ResolveLanguage(keywordLanguage == "es" ? "es" : reply.Answered.Language);
        body["reply"] = await ReplyAsync(reply, template, language, new Dictionary<string, string>(), cancellationToken);
        return InboundResult.Ok(body);
    }

    private async Task<InboundResult> AppointmentAsync(Reply reply, KeywordIntent intent, Hl7.Fhir.Model.Task task, DurableTaskClient client, CancellationToken cancellationToken)
    {
        var patientId = reply.Answered.PatientId;
        var kind = intent == KeywordIntent.Confirm ? "appointment-confirmed" : "appointment-cancel-requested";
        await store.CreateIfNotExistsAsync(InboundCommunication(reply, kind, new FhirString(reply.Inbound.Text!.Trim())), patientId, cancellationToken);
        var body = new Dictionary<string, string?> { ["outcome"] = kind, ["communication"] = "Communication/" + reply.CommunicationId };
        if (reply.Answered.InstanceId is not { } instanceId || OccurrenceKey(task, instanceId) is not { } occurrenceKey)
        {
            return InboundResult.Ok(body);
        }

        await index.AppendAsync(instanceId, reply.Now, kind, occurrenceKey, reply.Channel, cancellationToken);
        var instance = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, cancellationToken);
        var run = instance?.ReadInputAs<FollowUpInput>();
        var appointment = run is { TriggerType: "Appointment" } ? "Appointment/" + run.TriggerId : null;
        if (run is { TriggerType: "Appointment", Protocol.AppointmentReply: AppointmentReplies.UpdateAppointment }
            && sources.Find(run.Source) is { MayWriteBack: true })
        {
            // The protocol says the EHR's Appointment takes the answer itself (write-back reads it, changes the
            // patient's participation or cancels it, and updates it version-checked).
            await writeBack.EnqueueAppointmentReplyAsync(run.Source, patientId, run.TriggerId,
                intent == KeywordIntent.Confirm ? WriteBackStore.AppointmentConfirmed : WriteBackStore.AppointmentCancelled, cancellationToken);
            body["appointment"] = appointment;
        }
        else if (intent == KeywordIntent.Cancel)
        {
            // The scheduler decides: the request goes to the care team's worklist with the appointment in focus.
            var schedulerTask = CareTeamTask("ac-" + reply.CommunicationId[3..], patientId, "appointment-cancellation",
                "The patient replied to cancel the appointment: cancel it in the scheduling system and tell the patient.",
                appointment ?? "Communication/" + reply.CommunicationId, reply.Now);
            await store.CreateIfNotExistsAsync(schedulerTask, patientId, cancellationToken);
            body["task"] = "Task/" + schedulerTask.Id;
        }

        if (instance is { IsCompleted: false })
        {
            await client.RaiseEventAsync(instanceId, FollowUpEvents.Response(occurrenceKey), new FollowUpResponse(kind, null, null, reply.Now), cancellationToken);
        }

        return InboundResult.Ok(body);
    }

    /// <summary>Null when the number is not an answer to this check-in's Questionnaire (it is then kept as a question).</summary>
    private async Task<InboundResult?> CheckInAsync(Reply reply, Hl7.Fhir.Model.Task task, DurableTaskClient client, CancellationToken cancellationToken)
    {
        var canonical = task.Focus?.Reference;
        var snapshot = await terminology.RefreshAsync(cancellationToken);
        if (canonical is null || snapshot.Resolve<Questionnaire>(canonical) is not { } questionnaire
            || !PrimaryItem.TryAnswer(questionnaire, reply.Inbound.Text!, out var item))
        {
            return null;
        }

        var patientId = reply.Answered.PatientId;
        var response = new QuestionnaireResponse
        {
            Status = QuestionnaireResponse.QuestionnaireResponseStatus.Completed,
            AuthoredElement = new FhirDateTime(reply.Inbound.Timestamp ?? reply.Now),
            Author = new ResourceReference("Patient/" + patientId),
            Item = [item!],
        };
        // The same pipeline as a link or FHIR submission: validated and scored against the check-in Questionnaire,
        // stored once (id and identifier from the Task, so a redelivered reply finds it), then Provenance, score,
        // Task completed, red flags and the run's response event.
        var target = new ResponseTarget(
            patientId,
            canonical,
            "qr-sms-" + OutreachMessage.CreateId(task.Id!)[4..],
            new Identifier(ResponseRecorder.IdentifierSystem, "reply/" + task.Id),
            task.Id,
            reply.Answered.InstanceId);
        var prepared = recorder.Prepare(questionnaire, response, target);
        var processed = prepared.Processed;
        if (prepared.Scored is not { } scored)
        {
            var (min, max) = Range(questionnaire, item!.LinkId!);
            var language = templates.ResolveLanguage(reply.Answered.Language);
            return InboundResult.Ok(new Dictionary<string, string?>
            {
                ["outcome"] = "invalid-answer",
                ["reply"] = await ReplyAsync(reply, "checkin-invalid", language, new Dictionary<string, string> { ["min"] = min, ["max"] = max }, cancellationToken),
            });
        }

        await recorder.StoreAsync(scored, target, cancellationToken);
        await store.CreateIfNotExistsAsync(InboundCommunication(reply, "checkin-answer", new ResourceReference("QuestionnaireResponse/" + scored.Id)), patientId, cancellationToken);
        await recorder.CompleteAsync(questionnaire, prepared, target, client, cancellationToken);
        return InboundResult.Ok(new Dictionary<string, string?>
        {
            ["outcome"] = "checkin-answer",
            ["communication"] = "Communication/" + reply.CommunicationId,
            ["questionnaireResponse"] = "QuestionnaireResponse/" + scored.Id,
            ["totalScore"] = processed.TotalScore?.ToString(CultureInfo.InvariantCulture),
            ["band"] = processed.Band,
            ["redFlags"] = processed.RedFlags.Count.ToString(CultureInfo.InvariantCulture),
        });
    }

    private async Task<InboundResult> QuestionAsync(Reply reply, Hl7.Fhir.Model.Task? about, CancellationToken cancellationToken)
    {
        var patientId = reply.Answered.PatientId;
        await store.CreateIfNotExistsAsync(InboundCommunication(reply, "question", new FhirString(reply.Inbound.Text!)), patientId, cancellationToken);
        var task = CareTeamTask("pq-" + reply.CommunicationId[3..], patientId, "patient-question",
            "The patient has a question: read their message and answer them.", "Communication/" + reply.CommunicationId, reply.Now);
        if (about?.BasedOn.FirstOrDefault() is { } carePlan)
        {
            task.BasedOn = [carePlan];
        }

        await store.CreateIfNotExistsAsync(task, patientId, cancellationToken);
        return InboundResult.Ok(new Dictionary<string, string?>
        {
            ["outcome"] = "question",
            ["communication"] = "Communication/" + reply.CommunicationId,
            ["task"] = "Task/" + task.Id,
        });
    }

    /// <summary>Sends an answer to the patient through the outbox, on the channel and address they wrote from.</summary>
    private async Task<string> ReplyAsync(Reply reply, string template, string language, Dictionary<string, string> parameters, CancellationToken cancellationToken)
    {
        var messageId = OutreachMessage.CreateId(reply.CommunicationId, template);
        await outbox.EnqueueAsync(new OutreachMessage
        {
            MessageId = messageId,
            PatientId = reply.Answered.PatientId,
            Channel = reply.Channel,
            Language = language,
            TemplateCode = template,
            To = reply.Inbound.From is { Length: > 0 } from ? from : reply.Answered.To,
            Text = templates.Render(template, language, parameters),
            CreatedAt = reply.Now,
        }, cancellationToken);
        return messageId;
    }

    /// <summary>One Consent per patient for outreach (profile engagement-consent): STOP makes it active, START inactive.</summary>
    public static string ConsentId(string patientId) => "outreach-" + OutreachMessage.CreateId("consent", patientId)[4..];

    private static Consent OptOutConsent(string id, string patientId, Reply reply) => new()
    {
        Id = id,
        Meta = new Meta { Profile = [ConsentProfile] },
        Identifier = [new Identifier(FollowUpIds.Base + "/identifier/consent", id)],
        Status = Consent.ConsentState.Active,
        Scope = new CodeableConcept("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy"),
        Category = [new CodeableConcept("http://loinc.org", "59284-0")],
        Patient = new ResourceReference("Patient/" + patientId),
        DateTimeElement = new FhirDateTime(reply.Now),
        PolicyRule = new CodeableConcept("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTOUT"),
        Source = new ResourceReference("Communication/" + reply.CommunicationId),
        Provision = new Consent.provisionComponent
        {
            Type = Consent.ConsentProvisionType.Deny,
            Period = new Period { StartElement = new FhirDateTime(reply.Now) },
        },
    };

    private static Communication InboundCommunication(Reply reply, string kind, DataType content) => new()
    {
        Id = reply.CommunicationId,
        Meta = new Meta { Profile = [FollowUpIds.Base + "/StructureDefinition/engagement-communication"] },
        // Ours (every Communication we create carries it, profile engagement-communication) and the gateway's.
        Identifier =
        [
            new Identifier(FollowUpIds.CommunicationIdentifierSystem, reply.CommunicationId),
            new Identifier(FollowUpIds.Base + "/identifier/inbound-message", reply.Channel + "/" + reply.Inbound.ProviderMessageId),
        ],
        InResponseTo = [new ResourceReference("Communication/" + reply.Answered.MessageId)],
        Status = EventStatus.Completed,
        Category = [new CodeableConcept(ReplyKindSystem, kind)],
        Medium = [new CodeableConcept(FollowUpIds.Base + "/CodeSystem/engagement-channel", reply.Channel)],
        Subject = new ResourceReference("Patient/" + reply.Answered.PatientId),
        Sender = new ResourceReference("Patient/" + reply.Answered.PatientId),
        SentElement = reply.Inbound.Timestamp is { } sent ? new FhirDateTime(sent) : null,
        ReceivedElement = new FhirDateTime(reply.Now),
        Payload = [new Communication.PayloadComponent { Content = content }],
    };

    internal static Hl7.Fhir.Model.Task CareTeamTask(string id, string patientId, string code, string description, string focus, DateTimeOffset now) => new()
    {
        Id = id,
        Meta = new Meta { Profile = [FollowUpIds.Base + "/StructureDefinition/engagement-task"] },
        Identifier = [new Identifier(FollowUpIds.TaskIdentifierSystem, id)],
        Status = Hl7.Fhir.Model.Task.TaskStatus.Requested,
        Intent = Hl7.Fhir.Model.Task.TaskIntent.Order,
        Priority = RequestPriority.Routine,
        Code = new CodeableConcept(FollowUpIds.TaskCodeSystem, code),
        Description = description,
        Focus = new ResourceReference(focus),
        For = new ResourceReference("Patient/" + patientId),
        AuthoredOnElement = new FhirDateTime(now),
    };

    internal static string? OccurrenceKey(Hl7.Fhir.Model.Task task, string instanceId) =>
        task.Identifier.FirstOrDefault(i => i.System == FollowUpIds.TaskIdentifierSystem)?.Value is { } value
        && value.StartsWith(instanceId + "/", StringComparison.Ordinal)
            ? value[(instanceId.Length + 1)..]
            : null;

    private static (string Min, string Max) Range(Questionnaire questionnaire, string linkId)
    {
        var item = Flatten(questionnaire.Item).FirstOrDefault(i => i.LinkId == linkId);
        string Bound(string url) => item?.GetExtensionValue<DataType>(url) switch
        {
            Integer i => i.Value?.ToString(CultureInfo.InvariantCulture) ?? "?",
            FhirDecimal d => d.Value?.ToString(CultureInfo.InvariantCulture) ?? "?",
            _ => "?",
        };

        return (Bound("http://hl7.org/fhir/StructureDefinition/minValue"), Bound("http://hl7.org/fhir/StructureDefinition/maxValue"));
    }

    private static IEnumerable<Questionnaire.ItemComponent> Flatten(IEnumerable<Questionnaire.ItemComponent> items) =>
        items.SelectMany(i => new[] { i }.Concat(Flatten(i.Item)));

    [GeneratedRegex(@"^\s*[+-]?\d{1,6}([.,]\d{1,4})?\s*$")]
    private static partial Regex Number();

    internal sealed record Reply(string Channel, InboundMessage Inbound, OutreachMessage Answered, string CommunicationId, DateTimeOffset Now);
}
