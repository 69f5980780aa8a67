using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Engagement.Integration.Tests.FollowUp;
using Engagement.Integration.Tests.Infrastructure;
using Hl7.Fhir.Model;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Conversations;

/// <summary>
/// Two-way messaging through the standalone host on Azurite and the durable engine: the gateway door, every reply
/// kind, receipts, channel fallback, and an opt-out honoured by two running protocols.
/// </summary>
public sealed class InboundTests(InboundFixture fixture) : IClassFixture<InboundFixture>
{
    private const string CheckInQuestionnaire = "http://engagement-functions.org/fhir/Questionnaire/post-discharge-checkin";

    [Fact]
    public async Task The_door_refuses_unknown_channels_bad_secrets_and_bad_bodies_before_storing_anything()
    {
        using (var r = await fixture.PostInboundAsync("fax", new { type = "reply" }))
        {
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        }

        // The body is not even JSON: authentication comes first.
        using (var r = await fixture.PostInboundAsync("sms", "not json", secret: "wrong"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
            Assert.Contains("OperationOutcome", await r.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var r = await fixture.PostInboundAsync("email", new { type = "reply" }, secret: InboundFixture.SmsSecret))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        }

        using (var r = await fixture.PostInboundAsync("sms", "{}", contentType: "text/plain"))
        {
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, r.StatusCode);
        }

        using (var r = await fixture.PostInboundAsync("sms", "{\"type\": \"reply\","))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        }

        using (var r = await fixture.PostInboundAsync("sms", new { type = "reply", providerMessageId = "p1", from = "+15550000000" }))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, r.StatusCode);
        }

        using (var r = await fixture.PostInboundAsync("sms", new { type = "receipt", providerMessageId = "p2", messageId = "msg-x", status = "lost" }))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, r.StatusCode);
        }

        using (var r = await fixture.PostInboundAsync("sms", new { type = "reply", providerMessageId = "p3", from = "+1555", text = new string('x', 70_000) }))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
        }

        using (var r = await fixture.PostInboundAsync("sms", new { type = "reply", providerMessageId = InboundFixture.NewId("p"), from = InboundFixture.NewPhone(), text = "hello" }))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, r.StatusCode); // nobody was ever sent anything at that number
        }

        using (var r = await fixture.PostInboundAsync("sms", new { type = "receipt", providerMessageId = InboundFixture.NewId("p"), messageId = "msg-unknown", status = "delivered" }))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, r.StatusCode);
        }
    }

    [Fact]
    public async Task A_number_answers_the_check_in_once_scored_and_ends_the_wait_while_an_out_of_range_number_stores_nothing()
    {
        var (patientId, phone, instanceId) = await fixture.DischargeAsync();
        var checkIn = await fixture.FirstSentAsync(patientId, "checkin");

        var invalid = await fixture.ReplyOkAsync("sms", new { type = "reply", providerMessageId = InboundFixture.NewId("p"), from = phone, text = "12" });
        Assert.Equal("invalid-answer", invalid.GetProperty("outcome").GetString());
        Assert.Empty(await fixture.SearchAsync<QuestionnaireResponse>(patientId));
        var help = (await fixture.OutboxAsync(patientId)).Single(m => m.MessageId == invalid.GetProperty("reply").GetString());
        Assert.Contains("from 0 to 10", help.Text, StringComparison.Ordinal);

        var providerId = InboundFixture.NewId("p");
        var answer = new { type = "reply", providerMessageId = providerId, from = phone, text = " 4 " };
        var first = await fixture.ReplyOkAsync("sms", answer);
        var again = await fixture.ReplyOkAsync("sms", answer);

        Assert.Equal("checkin-answer", first.GetProperty("outcome").GetString());
        Assert.Equal(first.GetRawText(), again.GetRawText());
        var response = Assert.Single(await fixture.SearchAsync<QuestionnaireResponse>(patientId));
        Assert.Equal(CheckInQuestionnaire, response.Questionnaire);
        Assert.Equal(4, Assert.IsType<Integer>(response.Item.Single(i => i.LinkId == "pain").Answer[0].Value).Value);
        var task = (await fixture.SearchAsync<Hl7.Fhir.Model.Task>(patientId)).Single(t => t.Focus?.Reference == CheckInQuestionnaire);
        Assert.Equal(Hl7.Fhir.Model.Task.TaskStatus.Completed, task.Status);
        var reply = (await fixture.SearchAsync<Communication>(patientId)).Single(c => c.Sender?.Reference == "Patient/" + patientId);
        // In response to the latest check-in message to that number (the first one or a reminder already sent).
        var checkInMessages = (await fixture.OutboxAsync(patientId)).Where(m => m.InstanceId == checkIn.InstanceId && m.TemplateCode.StartsWith("checkin", StringComparison.Ordinal));
        Assert.Contains("Communication/" + reply.InResponseTo.Single().Reference!.Split('/')[1], checkInMessages.Select(m => "Communication/" + m.MessageId));

        var run = await Poll.UntilAsync(() => fixture.FollowUpAsync(instanceId), r => InboundFixture.Count(r, "answered") == 1, TimeSpan.FromSeconds(60), "the run to take the answer");
        var occurrence = run.GetProperty("history").EnumerateArray().First(h => h.GetProperty("kind").GetString() == "answered").GetProperty("occurrence").GetString();
        // The answer ended the wait: the run moved on without escalating (unanswered, every occurrence escalates).
        // Reminders are seconds apart on this clock, so some may have gone before the answer arrived.
        run = await Poll.UntilAsync(() => fixture.FollowUpAsync(instanceId), r => r.GetProperty("next").ValueKind != JsonValueKind.String
            || r.GetProperty("next").GetString() != occurrence, TimeSpan.FromSeconds(60), "the next occurrence");
        Assert.Equal(0, InboundFixture.Count(run, "escalated", occurrence));
        Assert.Single(await fixture.SearchAsync<QuestionnaireResponse>(patientId));
        await CancelAsync(instanceId);
    }

    [Fact]
    public async Task Any_other_text_is_kept_as_the_patients_message_with_a_task_for_the_care_team()
    {
        var (patientId, phone, instanceId) = await fixture.DischargeAsync();
        var checkIn = await fixture.FirstSentAsync(patientId, "checkin");

        var result = await fixture.ReplyOkAsync("sms", new { type = "reply", providerMessageId = InboundFixture.NewId("p"), from = phone, text = "Can I take ibuprofen with my new pills?" });

        Assert.Equal("question", result.GetProperty("outcome").GetString());
        var message = (await fixture.SearchAsync<Communication>(patientId)).Single(c => c.Sender?.Reference == "Patient/" + patientId);
        Assert.Equal("Can I take ibuprofen with my new pills?", ((FhirString)message.Payload[0].Content).Value);
        Assert.Equal("Communication/" + checkIn.MessageId, message.InResponseTo.Single().Reference);
        var task = (await fixture.SearchAsync<Hl7.Fhir.Model.Task>(patientId)).Single(t => t.Code?.Coding[0].Code == "patient-question");
        Assert.Equal("Communication/" + message.Id, task.Focus!.Reference);
        Assert.Equal(Hl7.Fhir.Model.Task.TaskStatus.Requested, task.Status);
        Assert.Empty(await fixture.SearchAsync<QuestionnaireResponse>(patientId));
        await CancelAsync(instanceId);
    }

    [Fact]
    public async Task A_Spanish_BAJA_opts_out_of_two_running_protocols_at_once_and_ALTA_opts_back_in()
    {
        var (patientId, phone, dischargeRun) = await fixture.DischargeAsync(language: "es");
        var appointment = new Appointment
        {
            Id = InboundFixture.NewId("appt"),
            Status = Appointment.AppointmentStatus.Booked,
            // 30 protocol days ahead: the reminders (3 and 1 days before) are still pending when BAJA arrives, even on a loaded machine.
            StartElement = new Instant(DateTimeOffset.UtcNow.AddSeconds(2 * 30)),
            EndElement = new Instant(DateTimeOffset.UtcNow.AddSeconds((2 * 30) + 1)),
            Participant = [new Appointment.ParticipantComponent { Actor = new ResourceReference("Patient/" + patientId), Status = ParticipationStatus.Accepted }],
        };
        await fixture.PutFromEhrAsync(appointment);
        var runs = await Poll.UntilAsync(() => fixture.FollowUpsAsync(patientId), l => l.GetProperty("followUps").GetArrayLength() == 2, TimeSpan.FromSeconds(60), "both protocols to run");
        await Poll.UntilAsync(() => fixture.OutboxAsync(patientId), m => m.Exists(x => x.InstanceId is not null), TimeSpan.FromSeconds(90),
            "a first message; runs: " + string.Join(" | ", await Task.WhenAll(runs.GetProperty("followUps").EnumerateArray().Select(async r => (await fixture.FollowUpAsync(r.GetProperty("instanceId").GetString()!)).GetRawText()))));

        var stop = await fixture.ReplyOkAsync("sms", new { type = "reply", providerMessageId = InboundFixture.NewId("p"), from = phone, text = "  baja " });

        Assert.Equal("opt-out", stop.GetProperty("outcome").GetString());
        var consent = Assert.Single(await fixture.SearchAsync<Consent>(patientId));
        Assert.Equal(Consent.ConsentState.Active, consent.Status);
        Assert.Equal(Consent.ConsentProvisionType.Deny, consent.Provision!.Type);
        Assert.Equal("http://engagement-functions.org/fhir/StructureDefinition/engagement-consent", consent.Meta!.Profile.Single());
        var confirmation = (await fixture.OutboxAsync(patientId)).Single(m => m.MessageId == stop.GetProperty("reply").GetString());
        Assert.Equal("optout-confirmation", confirmation.TemplateCode);
        Assert.StartsWith("Ya no recibirá", confirmation.Text, StringComparison.Ordinal);

        foreach (var run in runs.GetProperty("followUps").EnumerateArray().Select(r => r.GetProperty("instanceId").GetString()!))
        {
            var done = await Poll.UntilAsync(() => fixture.FollowUpAsync(run), r => r.GetProperty("runtimeStatus").GetString() == "Completed", TimeSpan.FromSeconds(120), "the run to end");
            Assert.Equal("opted-out", done.GetProperty("result").GetProperty("outcome").GetString());
        }

        // A reminder the engine decided while the STOP was being handled may reach the outbox after the confirmation:
        // the dispatcher withholds it. Only one already handed to the gateway before the Consent was stored went out.
        var consentStored = consent.Meta.LastUpdated!.Value;
        var decidedAfter = (await fixture.OutboxAsync(patientId)).Where(m => m.InstanceId is not null && m.CreatedAt > confirmation.CreatedAt).Select(m => m.MessageId).ToList();
        foreach (var messageId in decidedAfter)
        {
            // 90 s: one dispatcher pass covers this shared host's whole outbox, which the other tests keep busy.
            var row = await Poll.UntilAsync(() => fixture.OutboxRowAsync(messageId), r => r.GetString("Status") != "Pending", TimeSpan.FromSeconds(90), "the dispatcher to handle " + messageId);
            Assert.True(row.GetString("Status") == "Suppressed" || row.GetDateTimeOffset("SentAt") < consentStored,
                $"{messageId} was {row.GetString("Status")} at {row.GetDateTimeOffset("SentAt"):O}, after the opt-out was stored at {consentStored:O}");
        }
        Assert.Contains(runs.GetProperty("followUps").EnumerateArray(), r => r.GetProperty("instanceId").GetString() == dischargeRun);

        var start = await fixture.ReplyOkAsync("sms", new { type = "reply", providerMessageId = InboundFixture.NewId("p"), from = phone, text = "ALTA" });
        Assert.Equal("opt-in", start.GetProperty("outcome").GetString());
        Assert.Equal(Consent.ConsentState.Inactive, Assert.Single(await fixture.SearchAsync<Consent>(patientId)).Status);
        var optIn = (await fixture.OutboxAsync(patientId)).Single(m => m.MessageId == start.GetProperty("reply").GetString());
        Assert.Equal("optin-confirmation", optIn.TemplateCode);
        Assert.StartsWith("Volverá a recibir mensajes", optIn.Text, StringComparison.Ordinal);
        var ayuda = await fixture.ReplyOkAsync("sms", new { type = "reply", providerMessageId = InboundFixture.NewId("p"), from = phone, text = "¿Ayuda?" });
        Assert.Equal("help", ayuda.GetProperty("outcome").GetString());
        Assert.StartsWith("Mensajes de su equipo de atención", (await fixture.OutboxAsync(patientId)).Single(m => m.MessageId == ayuda.GetProperty("reply").GetString()).Text, StringComparison.Ordinal);
        var help = await fixture.ReplyOkAsync("sms", new { type = "reply", providerMessageId = InboundFixture.NewId("p"), from = phone, text = "Help!" });
        Assert.Equal("help", help.GetProperty("outcome").GetString());
        Assert.StartsWith("Mensajes de su equipo de atención", (await fixture.OutboxAsync(patientId)).Single(m => m.MessageId == help.GetProperty("reply").GetString()).Text, StringComparison.Ordinal);

        // The Consent and every Communication (ours, the patient's keywords, withheld ones) conform to our profiles.
        await Conformance.AssertProducedResourcesConformAsync(fixture.Host, patientId, "Consent", "Communication");
    }

    [Fact]
    public async Task Appointment_replies_are_recorded_against_their_reminder_and_a_cancel_asks_the_scheduler()
    {
        var patientId = InboundFixture.NewId("pat");
        var phone = InboundFixture.NewPhone();
        await fixture.PutFromEhrAsync(FollowUp.FollowUpHarness.Patient(patientId, "en", phone));
        await PatientStore.WaitUntilStoredAsync(patientId);
        var appointment = new Appointment
        {
            Id = InboundFixture.NewId("appt"),
            Status = Appointment.AppointmentStatus.Booked,
            // Twenty protocol days ahead: the 3-days-before reminder is still ahead when the run starts on a slow machine.
            StartElement = new Instant(DateTimeOffset.UtcNow.AddSeconds(2 * 20)),
            EndElement = new Instant(DateTimeOffset.UtcNow.AddSeconds((2 * 20) + 1)),
            Participant = [new Appointment.ParticipantComponent { Actor = new ResourceReference("Patient/" + patientId), Status = ParticipationStatus.Accepted }],
        };
        await fixture.PutFromEhrAsync(appointment);
        var first = await fixture.FirstSentAsync(patientId, "appointment-reminder");
        var instanceId = first.InstanceId!;
        // No waiting for the Communication: the send step writes it before the outbox row, so a reply never arrives first.

        var confirmed = await fixture.ReplyOkAsync("sms", new { type = "reply", providerMessageId = InboundFixture.NewId("p"), messageId = first.MessageId, text = "Yes" });
        Assert.Equal("appointment-confirmed", confirmed.GetProperty("outcome").GetString());

        var second = (await Poll.UntilAsync(() => fixture.OutboxAsync(patientId), m => m.Count(x => x.TemplateCode == "appointment-reminder") == 2, TimeSpan.FromSeconds(90), "the day-before reminder"))
            .Single(x => x.TemplateCode == "appointment-reminder" && x.MessageId != first.MessageId);
        await Poll.UntilAsync(() => fixture.ReadAsync<Communication>(second.MessageId), c => c is not null, TimeSpan.FromSeconds(30), "the reminder's Communication");
        var cancelled = await fixture.ReplyOkAsync("sms", new { type = "reply", providerMessageId = InboundFixture.NewId("p"), from = phone, text = "no" });
        Assert.Equal("appointment-cancel-requested", cancelled.GetProperty("outcome").GetString());
        // The protocol asks for the EHR's Appointment to be updated, but ehr1 has no FHIR server we can write to: the
        // cancel goes to the scheduler as a care-team Task instead.
        Assert.False(cancelled.TryGetProperty("appointment", out _));
        var schedulerTask = (await fixture.SearchAsync<Hl7.Fhir.Model.Task>(patientId)).Single(t => t.Code?.Coding[0].Code == "appointment-cancellation");
        Assert.Equal("Appointment/" + appointment.Id, schedulerTask.Focus!.Reference);

        var done = await Poll.UntilAsync(() => fixture.FollowUpAsync(instanceId), r => r.GetProperty("runtimeStatus").GetString() == "Completed", TimeSpan.FromSeconds(120), "the run to end");
        Assert.Equal(1, InboundFixture.Count(done, "appointment-confirmed"));
        Assert.Equal(1, InboundFixture.Count(done, "appointment-cancel-requested"));
        // Whether the run's wait ended is not asserted here: on this clock a response window is one or two seconds, so
        // a reply can land after it (the check-in test proves the response event ends a wait).
        var replies = (await fixture.SearchAsync<Communication>(patientId)).Where(c => c.Sender?.Reference == "Patient/" + patientId).ToList();
        Assert.Contains(replies, c => c.InResponseTo.Single().Reference == "Communication/" + second.MessageId);
    }

    [Fact]
    public async Task Appointment_replies_go_into_the_EHRs_Appointment_when_the_protocol_says_so_and_the_EHR_takes_updates()
    {
        var ehr = fixture.Ehr2;
        var patientId = InboundFixture.NewId("pat");
        var phone = InboundFixture.NewPhone();
        await fixture.PutFromEhrAsync(FollowUp.FollowUpHarness.Patient(patientId, "en", phone), "ehr2");
        await PatientStore.WaitUntilStoredAsync(patientId);
        var appointment = new Appointment
        {
            Id = InboundFixture.NewId("appt"),
            Meta = new Meta { VersionId = "1" },
            Status = Appointment.AppointmentStatus.Booked,
            StartElement = new Instant(DateTimeOffset.UtcNow.AddSeconds(2 * 20)),
            EndElement = new Instant(DateTimeOffset.UtcNow.AddSeconds((2 * 20) + 1)),
            Participant =
            [
                new Appointment.ParticipantComponent { Actor = new ResourceReference("Patient/" + patientId), Status = ParticipationStatus.NeedsAction },
                new Appointment.ParticipantComponent { Actor = new ResourceReference("Practitioner/dr-1"), Status = ParticipationStatus.Accepted },
            ],
            Comment = "Bring your glucose log.", // the EHR's own content: kept by our update
        };
        var path = "Appointment/" + appointment.Id;
        ehr.Resources[path] = Engagement.Http.FhirJson.Serialize(appointment);
        await fixture.PutFromEhrAsync(appointment, "ehr2");
        var first = await fixture.FirstSentAsync(patientId, "appointment-reminder");

        // "Yes": the patient's participation becomes accepted at the EHR, by a version-checked update of its Appointment.
        var confirmed = await fixture.ReplyOkAsync("sms", new { type = "reply", providerMessageId = InboundFixture.NewId("p"), messageId = first.MessageId, text = "Yes" });
        Assert.Equal(("appointment-confirmed", path), (confirmed.GetProperty("outcome").GetString(), confirmed.GetProperty("appointment").GetString()));
        var accepted = await Poll.UntilAsync(() => Task.FromResult(ehr.Written.GetValueOrDefault(path)), w => w is not null, TimeSpan.FromSeconds(60), "the confirmation to reach the EHR's Appointment");
        Assert.Equal("booked", accepted!["status"]!.GetValue<string>());
        Assert.Equal(["accepted", "accepted"], accepted["participant"]!.AsArray().Select(p => p!["status"]!.GetValue<string>()));
        Assert.Equal("Bring your glucose log.", accepted["comment"]!.GetValue<string>());
        Assert.Equal($"PUT /fhir/{path} 200", Assert.Single(ehr.Writes, w => w.Contains(path, StringComparison.Ordinal)));

        // "No" to the day-before reminder: the EHR's Appointment is cancelled by the patient; no scheduler Task.
        var second = (await Poll.UntilAsync(() => fixture.OutboxAsync(patientId), m => m.Count(x => x.TemplateCode == "appointment-reminder") == 2, TimeSpan.FromSeconds(90), "the day-before reminder"))
            .Single(x => x.TemplateCode == "appointment-reminder" && x.MessageId != first.MessageId);
        var cancelled = await fixture.ReplyOkAsync("sms", new { type = "reply", providerMessageId = InboundFixture.NewId("p"), messageId = second.MessageId, text = "Cancel" });
        Assert.Equal(("appointment-cancel-requested", path), (cancelled.GetProperty("outcome").GetString(), cancelled.GetProperty("appointment").GetString()));
        Assert.False(cancelled.TryGetProperty("task", out _));
        var gone = await Poll.UntilAsync(() => Task.FromResult(ehr.Written[path]), w => w["status"]!.GetValue<string>() == "cancelled", TimeSpan.FromSeconds(60), "the cancellation to reach the EHR's Appointment");
        Assert.Equal("pat", gone["cancelationReason"]!["coding"]![0]!["code"]!.GetValue<string>());
        Assert.Equal(["declined", "accepted"], gone["participant"]!.AsArray().Select(p => p!["status"]!.GetValue<string>()));
        Assert.Equal("3", JsonNode.Parse(ehr.Resources[path])!["meta"]!["versionId"]!.GetValue<string>()); // two updates, each on the version it read
        Assert.DoesNotContain(await fixture.SearchAsync<Hl7.Fhir.Model.Task>(patientId), t => t.Code?.Coding[0].Code == "appointment-cancellation");

        // The same reply again (the gateway redelivers) changes nothing more at the EHR.
        await fixture.ReplyOkAsync("sms", new { type = "reply", providerMessageId = InboundFixture.NewId("p"), messageId = second.MessageId, text = "Cancel" });
        await Poll.UntilAsync(() => Task.FromResult(ehr.Requests.Count(r => r == "/fhir/" + path)), n => n >= 5, TimeSpan.FromSeconds(60), "the Appointment to be read again (two reads and two updates before)");
        Assert.Equal(2, ehr.Writes.Count(w => w.Contains(path, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_failed_sms_falls_back_to_email_once_and_a_bounced_email_leaves_a_task_for_the_care_team()
    {
        var (patientId, _, instanceId) = await fixture.DischargeAsync(email: "patient@example.test");
        var sms = await fixture.FirstSentAsync(patientId, "checkin");
        Assert.Equal("sms", sms.Channel);

        var failedReceipt = new { type = "receipt", providerMessageId = InboundFixture.NewId("p"), messageId = sms.MessageId, status = "failed", reason = "unreachable" };
        var failed = await fixture.ReplyOkAsync("sms", failedReceipt);
        var redelivered = await fixture.ReplyOkAsync("sms", failedReceipt);

        Assert.Equal(failed.GetRawText(), redelivered.GetRawText());
        Assert.Equal("email", failed.GetProperty("fallbackChannel").GetString());
        Assert.False(failed.TryGetProperty("fallbackNotBefore", out _)); // inside the patient's (all-day) window: at once
        var smsCommunication = (await fixture.ReadAsync<Communication>(sms.MessageId))!;
        Assert.Equal(EventStatus.NotDone, smsCommunication.Status);
        Assert.Equal("failed", smsCommunication.StatusReason!.Coding[0].Code);
        var email = (await fixture.OutboxAsync(patientId)).Single(m => m.Channel == "email");
        Assert.Equal(failed.GetProperty("fallback").GetString(), email.MessageId);
        Assert.Equal("patient@example.test", email.To);
        Assert.Equal(sms.Text, email.Text);
        Assert.Equal(EventStatus.InProgress, (await fixture.ReadAsync<Communication>(email.MessageId))!.Status);

        var bounced = await fixture.ReplyOkAsync("email", new { type = "receipt", providerMessageId = InboundFixture.NewId("p"), messageId = email.MessageId, status = "bounced" });
        Assert.Equal(JsonValueKind.Null, bounced.GetProperty("fallback").ValueKind);
        Assert.Equal(EventStatus.NotDone, (await fixture.ReadAsync<Communication>(email.MessageId))!.Status);
        Assert.Contains(await fixture.SearchAsync<Hl7.Fhir.Model.Task>(patientId), t => t.Code?.Coding[0].Code == "message-undeliverable");
        Assert.Single(await fixture.OutboxAsync(patientId), m => m.Channel == "email");

        var reminder = (await Poll.UntilAsync(() => fixture.OutboxAsync(patientId), m => m.Exists(x => x.TemplateCode == "checkin-reminder"), TimeSpan.FromSeconds(60), "a reminder"))
            .First(x => x.TemplateCode == "checkin-reminder");
        var delivered = await fixture.ReplyOkAsync("sms", new { type = "receipt", providerMessageId = InboundFixture.NewId("p"), messageId = reminder.MessageId, status = "delivered" });
        Assert.Equal("completed", delivered.GetProperty("status").GetString());
        var completed = (await fixture.ReadAsync<Communication>(reminder.MessageId))!;
        Assert.Equal(EventStatus.Completed, completed.Status);
        Assert.NotNull(completed.ReceivedElement);
        await CancelAsync(instanceId);
    }

    [Fact]
    public async Task A_failure_reported_outside_the_patients_contact_window_falls_back_only_when_the_window_opens()
    {
        var (patientId, phone, instanceId) = await fixture.DischargeAsync(email: "window@example.test");
        var sms = await fixture.FirstSentAsync(patientId, "checkin");

        // Since that send the patient allows contact from 03:00 to 03:01 only (UTC): the failure arrives outside it
        // (on the fixture's 2-second protocol day a minute lasts 1.4 ms, so it all but surely does).
        var patient = FollowUpHarness.Patient(patientId, "en", phone);
        patient.Telecom[0].Rank = 1;
        patient.Telecom.Add(new ContactPoint(ContactPoint.ContactPointSystem.Email, ContactPoint.ContactPointUse.Home, "window@example.test") { Rank = 2 });
        patient.Extension.Add(new Extension
        {
            Url = Engagement.FollowUp.ProtocolUrls.ContactWindow,
            Extension = [new Extension("start", new Time("03:00:00")), new Extension("end", new Time("03:01:00"))],
        });
        await fixture.PutFromEhrAsync(patient);
        var resources = new Azure.Data.Tables.TableClient(TestEnvironment.StorageConnectionString, "FhirResources");
        await Poll.UntilAsync(
            async () => (await resources.GetEntityIfExistsAsync<Azure.Data.Tables.TableEntity>("Patient", patientId)).Value?.GetString("Json") ?? "",
            json => json.Contains(Engagement.FollowUp.ProtocolUrls.ContactWindow, StringComparison.Ordinal), TimeSpan.FromSeconds(60), "the window to be stored");

        var failed = await fixture.ReplyOkAsync("sms", new { type = "receipt", providerMessageId = InboundFixture.NewId("p"), messageId = sms.MessageId, status = "failed" });
        Assert.Equal("email", failed.GetProperty("fallbackChannel").GetString());
        var notBefore = DateTimeOffset.Parse(failed.GetProperty("fallbackNotBefore").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        var email = (await fixture.OutboxAsync(patientId)).Single(m => m.Channel == "email");
        Assert.Equal(notBefore, email.NotBefore);

        // On the protocol clock (the original send is the anchor, 43,200 protocol seconds per real one) it is 03:00.
        var anchor = sms.NotBefore ?? sms.CreatedAt;
        var protocolTime = anchor.AddTicks((long)((notBefore - anchor).Ticks * 43200m));
        var off = (TimeOnly.FromDateTime(protocolTime.UtcDateTime) - new TimeOnly(3, 0)).TotalMinutes; // wraps below 03:00
        Assert.InRange(Math.Min(off, (24 * 60) - off), 0, 1);
        await CancelAsync(instanceId);
    }

    private async Task CancelAsync(string instanceId)
    {
        using var request = StandaloneHost.AdminRequest(HttpMethod.Post, $"/api/followups/{instanceId}/cancel");
        using var response = await fixture.Host.Client.SendAsync(request);
    }
}
