using System.Text.Json;
using Azure.Storage.Queues;
using Engagement.Fhir;
using Engagement.FollowUp.Engine;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Outreach;
using Engagement.Outreach.Transports;
using Engagement.Storage.AzureStorage;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Integration.Tests.Outreach;

/// <summary>The outbox and its dispatcher on Azurite, with the Storage queue transport.</summary>
public sealed class OutboxTests
{
    private readonly StorageClients storage = new(new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?> { ["AzureWebJobsStorage"] = TestEnvironment.StorageConnectionString })
        .Build());

    private readonly TableFhirResourceStore store;

    public OutboxTests() => store = new TableFhirResourceStore(storage, TimeProvider.System);

    private readonly string queueName = "outreach-" + Guid.NewGuid().ToString("N")[..12];

    // A table of its own: other test hosts' dispatchers drain the default outbox.
    private readonly string outboxTable = "Outbox" + Guid.NewGuid().ToString("N")[..12];

    private static OutreachMessage Message(string id, string? patientId = null, string? instanceId = null, string channel = "sms") => new()
    {
        MessageId = id,
        PatientId = patientId ?? "pat-" + id,
        InstanceId = instanceId,
        Channel = channel,
        Language = "es",
        TemplateCode = "questionnaire",
        To = "+15555550100",
        Text = "texto",
        Link = "https://example.test/engage/abc",
        CreatedAt = DateTimeOffset.UtcNow,
    };

    private Engagement.Measures.AzureStorage.TableEngagementStore Recorder() =>
        new(storage, Options.Create(new Engagement.Measures.MeasuresOptions { TableName = "Measures" + Guid.NewGuid().ToString("N")[..12] }));

    private (OutboxStore Outbox, OutboxDispatcher Dispatcher, QueueClient Queue) Create(IOutreachTransport? transport = null)
    {
        var outbox = new OutboxStore(storage, Options.Create(new OutreachOptions { TableName = outboxTable }));
        var queueTransport = new StorageQueueOutreachTransport(storage, Options.Create(new OutreachOptions { QueueName = queueName }));
        var dispatcher = Dispatcher(outbox, transport ?? queueTransport);
        return (outbox, dispatcher, storage.Queues.GetQueueClient(queueName));
    }

    private OutboxDispatcher Dispatcher(OutboxStore outbox, IOutreachTransport transport) =>
        new(outbox, transport, new StoredOutreachConsent(store), store, TimeProvider.System, Recorder(), NullLogger<OutboxDispatcher>.Instance);

    private static async Task<List<OutreachEnvelope>> DrainAsync(QueueClient queue)
    {
        var envelopes = new List<OutreachEnvelope>();
        while (true)
        {
            var batch = (await queue.ReceiveMessagesAsync(32)).Value;
            if (batch.Length == 0)
            {
                return envelopes;
            }

            foreach (var message in batch)
            {
                envelopes.Add(JsonSerializer.Deserialize<OutreachEnvelope>(message.Body.ToString())!);
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt);
            }
        }
    }

    /// <summary>Rows of the outbox table: message rows and pending markers.</summary>
    private async Task<(List<Azure.Data.Tables.TableEntity> Messages, List<string> Markers)> RowsAsync()
    {
        var messages = new List<Azure.Data.Tables.TableEntity>();
        var markers = new List<string>();
        await foreach (var row in storage.Tables.GetTableClient(outboxTable).QueryAsync<Azure.Data.Tables.TableEntity>())
        {
            if (OutboxStore.IsPendingMarker(row.RowKey))
            {
                markers.Add(row.RowKey[OutboxStore.PendingPrefix.Length..]);
            }
            else
            {
                messages.Add(row);
            }
        }

        return (messages, markers);
    }

    [Fact]
    public async Task What_the_dispatcher_reads_is_the_pending_markers_which_leave_with_the_send_and_a_message_from_before_markers_gets_one()
    {
        var (outbox, dispatcher, queue) = Create();
        var ids = Enumerable.Range(0, 12).Select(i => OutreachMessage.CreateId("markers", outboxTable, i.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToList();
        foreach (var id in ids)
        {
            Assert.True(await outbox.EnqueueAsync(Message(id), default));
        }

        var (messages, markers) = await RowsAsync();
        Assert.Equal(ids.Order(StringComparer.Ordinal), markers.Order(StringComparer.Ordinal)); // one marker per message, written with it
        Assert.Equal(12, await dispatcher.DispatchPendingAsync(default));
        (messages, markers) = await RowsAsync();
        Assert.Empty(markers);
        Assert.All(messages, m => Assert.Equal(OutboxStore.Sent, m.GetString("Status")));
        Assert.False(await outbox.EnqueueAsync(Message(ids[0]), default)); // a duplicate of a sent message: no new marker
        Assert.Empty((await RowsAsync()).Markers);
        Assert.Equal(0, await dispatcher.DispatchPendingAsync(default));
        Assert.Equal(12, (await DrainAsync(queue)).Count);

        // A message written before markers existed (status Pending, no marker): a new process finds it and sends it once.
        var legacy = OutreachMessage.CreateId("markers", outboxTable, "legacy");
        var partition = OutboxStore.ShardOf(legacy);
        await storage.Tables.GetTableClient(outboxTable).AddEntityAsync(new Azure.Data.Tables.TableEntity(partition, legacy)
        {
            ["Status"] = OutboxStore.Pending,
            ["Attempts"] = 0,
            ["Body"] = JsonSerializer.Serialize(Message(legacy)),
            ["CreatedAt"] = DateTimeOffset.UtcNow,
        });
        Assert.Equal(0, await dispatcher.DispatchPendingAsync(default)); // this process already looked for such rows
        var (_, restarted, _) = Create();
        Assert.Equal(1, await restarted.DispatchPendingAsync(default));
        Assert.Equal([legacy], (await DrainAsync(queue)).Select(e => e.MessageId));
        Assert.Equal(0, await restarted.DispatchPendingAsync(default));
        Assert.Empty((await RowsAsync()).Markers);
    }

    [Fact]
    public async Task Enqueueing_the_same_message_twice_stores_it_once_and_sends_it_once()
    {
        var (outbox, dispatcher, queue) = Create();
        var id = OutreachMessage.CreateId("instance-1", "activity-day7", "0");

        Assert.True(await outbox.EnqueueAsync(Message(id), default));
        Assert.False(await outbox.EnqueueAsync(Message(id), default));
        await dispatcher.DispatchPendingAsync(default);
        await dispatcher.DispatchPendingAsync(default);

        var sent = (await DrainAsync(queue)).Where(e => e.MessageId == id).ToList();
        var envelope = Assert.Single(sent);
        Assert.Equal("sms", envelope.Channel);
        Assert.Equal("es", envelope.Language);
        Assert.Equal(OutboxStore.Sent, await outbox.GetStatusAsync(id, default));
    }

    [Fact]
    public async Task A_message_waiting_for_the_patients_contact_window_stays_pending_until_it_opens_and_then_goes_once()
    {
        var (outbox, _, queue) = Create();
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var dispatcher = new OutboxDispatcher(outbox, new StorageQueueOutreachTransport(storage, Options.Create(new OutreachOptions { QueueName = queueName })),
            new StoredOutreachConsent(store), store, clock, Recorder(), NullLogger<OutboxDispatcher>.Instance);
        var waiting = OutreachMessage.CreateId("instance-w", "fallback", "email");
        var now = OutreachMessage.CreateId("instance-n", "checkin", "0");
        Assert.True(await outbox.EnqueueAsync(Message(waiting) with { NotBefore = clock.GetUtcNow().AddHours(7) }, default));
        Assert.True(await outbox.EnqueueAsync(Message(now), default));

        Assert.Equal(1, await dispatcher.DispatchPendingAsync(default));
        Assert.Equal(0, await dispatcher.DispatchPendingAsync(default));
        Assert.Equal(OutboxStore.Pending, await outbox.GetStatusAsync(waiting, default));
        Assert.Equal([now], (await DrainAsync(queue)).Select(e => e.MessageId));

        clock.Advance(TimeSpan.FromHours(7));
        Assert.Equal(1, await dispatcher.DispatchPendingAsync(default));
        Assert.Equal(0, await dispatcher.DispatchPendingAsync(default));
        Assert.Equal(OutboxStore.Sent, await outbox.GetStatusAsync(waiting, default));
        Assert.Equal([waiting], (await DrainAsync(queue)).Select(e => e.MessageId));
    }

    [Fact]
    public async Task A_dispatcher_crash_after_sending_resends_the_message_with_the_same_MessageId_and_loses_nothing()
    {
        var (outbox, _, queue) = Create();
        var id = OutreachMessage.CreateId("instance-2", "activity-day2", "0");
        await outbox.EnqueueAsync(Message(id), default);
        var realTransport = new StorageQueueOutreachTransport(storage, Options.Create(new OutreachOptions { QueueName = queueName }));
        var crashing = new CrashAfterSendTransport(realTransport);
        var crashingDispatcher = Dispatcher(outbox, crashing);

        await Assert.ThrowsAsync<IOException>(() => crashingDispatcher.DispatchPendingAsync(default));
        Assert.Equal(OutboxStore.Pending, await outbox.GetStatusAsync(id, default));

        var (_, restarted, _) = Create(realTransport);
        await restarted.DispatchPendingAsync(default);

        var sent = (await DrainAsync(queue)).Where(e => e.MessageId == id).ToList();
        Assert.Equal(2, sent.Count);
        Assert.Single(sent.Select(e => e.MessageId).Distinct());
        Assert.Equal(OutboxStore.Sent, await outbox.GetStatusAsync(id, default));
    }

    [Fact]
    public async Task Protocol_outreach_to_a_patient_who_opted_out_after_it_was_decided_is_withheld_while_replies_and_care_team_messages_go()
    {
        var (outbox, dispatcher, queue) = Create();
        var run = Guid.NewGuid().ToString("N")[..10];
        var optedOut = "pat-out-" + run;
        var other = "pat-in-" + run;
        var reminder = OutreachMessage.CreateId("instance-" + run, "checkin", "1");
        var otherReminder = OutreachMessage.CreateId("instance-other-" + run, "checkin", "1");
        var confirmation = OutreachMessage.CreateId("reply-" + run, "optout-confirmation");
        var escalation = OutreachMessage.CreateId("instance-" + run, "checkin", "escalation");
        // The send step decided the reminder (and wrote its Communication) just before the STOP was stored.
        await store.CreateIfNotExistsAsync(new Communication
        {
            Id = reminder,
            Status = EventStatus.InProgress,
            Subject = new ResourceReference("Patient/" + optedOut),
        }, optedOut, default);
        await outbox.EnqueueAsync(Message(reminder, optedOut, "instance-" + run), default);
        await outbox.EnqueueAsync(Message(otherReminder, other, "instance-other-" + run), default);
        await outbox.EnqueueAsync(Message(confirmation, optedOut), default);
        await outbox.EnqueueAsync(Message(escalation, optedOut, "instance-" + run, OutboxDispatcher.ClinicianChannel), default);
        await store.CreateIfNotExistsAsync(new Consent
        {
            Id = "outreach-" + run,
            Status = Consent.ConsentState.Active,
            Scope = new CodeableConcept("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy"),
            Category = [new CodeableConcept("http://loinc.org", "59284-0")],
            Patient = new ResourceReference("Patient/" + optedOut),
            DateTimeElement = new FhirDateTime(DateTimeOffset.UtcNow),
            Provision = new Consent.provisionComponent { Type = Consent.ConsentProvisionType.Deny },
        }, optedOut, default);

        Assert.Equal(3, await dispatcher.DispatchPendingAsync(default));
        Assert.Equal(0, await dispatcher.DispatchPendingAsync(default)); // withheld means never retried

        var sent = (await DrainAsync(queue)).Select(e => e.MessageId).ToList();
        Assert.Equal(new[] { confirmation, escalation, otherReminder }.Order(StringComparer.Ordinal), sent.Order(StringComparer.Ordinal));
        Assert.DoesNotContain(reminder, sent);
        Assert.Equal(OutboxStore.Suppressed, await outbox.GetStatusAsync(reminder, default));
        Assert.Equal(OutboxStore.Sent, await outbox.GetStatusAsync(otherReminder, default));
        var communication = (Communication)(await store.GetAsync("Communication", reminder, default))!.Resource;
        Assert.Equal(EventStatus.NotDone, communication.Status);
        Assert.Equal("patient-objection", communication.StatusReason!.Coding.Single().Code);
    }

    [Fact]
    public async Task Message_ids_are_deterministic_and_carry_no_input_text()
    {
        var a = OutreachMessage.CreateId("instance-3", "phq9-day30", "reminder-1");
        Assert.Equal(a, OutreachMessage.CreateId("instance-3", "phq9-day30", "reminder-1"));
        Assert.NotEqual(a, OutreachMessage.CreateId("instance-3", "phq9-day30", "reminder-2"));
        Assert.DoesNotContain("instance-3", a, StringComparison.Ordinal);
        await Task.CompletedTask;
    }

    /// <summary>Sends through the real transport, then fails as a process killed before marking the row would.</summary>
    private sealed class CrashAfterSendTransport(IOutreachTransport inner) : IOutreachTransport
    {
        public async Task SendAsync(OutreachMessage message, CancellationToken cancellationToken)
        {
            await inner.SendAsync(message, cancellationToken);
            throw new IOException("process died after sending");
        }
    }
}
