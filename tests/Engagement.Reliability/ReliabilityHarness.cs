using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Engagement.Integration.Tests.Infrastructure;
using Engagement.Integration.Tests.Links;
using Engagement.Outreach;

namespace Engagement.Reliability;

/// <summary>
/// A standalone host set up for the reliability scenarios: an intake source <c>rel</c> without a FHIR server
/// (full-resource notifications carry everything), its own intake prefix, outbox table and outreach queue, a
/// shrunk protocol clock, and link keys; plus the readers that count what the host produced.
/// </summary>
public sealed class ReliabilityHarness : IAsyncDisposable
{
    public const string Source = "rel";
    public const string Secret = "reliability-inbound-secret";

    public ReliabilityHarness(string? storage = null, double secondsPerDay = 2, Action<Dictionary<string, string?>>? configure = null)
    {
        Prefix = "R" + Guid.NewGuid().ToString("N")[..10];
        QueueName = "rel-" + Guid.NewGuid().ToString("N")[..12];
        Storage = storage ?? TestEnvironment.StorageConnectionString;
        var settings = LinkApi.Settings("k1", ("k1", LinkApi.SecretOne));
        settings["AzureWebJobsStorage"] = Storage;
        settings["Engagement__Intake__StoragePrefix"] = Prefix;
        settings["Engagement__Intake__SweepInterval"] = "00:00:01";
        settings["Engagement__Intake__RedriveAfter"] = "00:00:02";
        settings["Engagement__Intake__GapRecoveryBackoff"] = "00:00:01";
        settings[$"Engagement__Sources__{Source}__InboundSecret"] = Secret;
        settings["Engagement__SecondsPerDay"] = secondsPerDay.ToString(CultureInfo.InvariantCulture);
        settings["Engagement__FollowUp__ContactWindowStart"] = "00:00";
        settings["Engagement__FollowUp__ContactWindowEnd"] = "23:59";
        settings["Engagement__Outbox__DispatchInterval"] = "00:00:01";
        settings["Engagement__Outbox__QueueName"] = QueueName;
        configure?.Invoke(settings);
        Host = new StandaloneHost(settings);
    }

    public string Prefix { get; }

    public string QueueName { get; }

    public string Storage { get; }

    public StandaloneHost Host { get; }

    public string OutboxTable => Host.Settings["Engagement__Outbox__TableName"]!;

    public ValueTask DisposeAsync() => Host.DisposeAsync();

    /// <summary>POSTs a notification body; the status, or null when the connection failed (host down).</summary>
    public async Task<HttpStatusCode?> PostAsync(string body, string path = "/api/notifications/" + Source, string? secret = Secret, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative))
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/fhir+json");
        if (secret is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        }

        try
        {
            using var response = await Host.Client.SendAsync(request, cancellationToken);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>The EHR sends the Patient by classic rest-hook (PUT); outreach needs its contact details.</summary>
    /// <remarks>
    /// A 503 (storage slower than intake's timeout: the delivery was not stored) is delivered again, as an EHR does;
    /// <see cref="SetupRedeliveries"/> counts them.
    /// </remarks>
    public async Task PutPatientAsync(string patientId, Demographics? who = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Put, new Uri($"/api/notifications/{Source}/Patient/{patientId}", UriKind.Relative))
            {
                Content = new StringContent((who ?? Demographics.For(patientId)).Patient(patientId).ToJsonString(), Encoding.UTF8, "application/fhir+json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Secret);
            using var response = await Host.Client.SendAsync(request);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable && attempt < 5)
            {
                Interlocked.Increment(ref setupRedeliveries);
                await Task.Delay(TimeSpan.FromSeconds(attempt));
                continue;
            }

            Assert.True(response.IsSuccessStatusCode, $"PUT Patient: {response.StatusCode}");
            return;
        }
    }

    private int setupRedeliveries;

    /// <summary>Patient deliveries answered 503 during a scenario's setup and delivered again.</summary>
    public int SetupRedeliveries => Volatile.Read(ref setupRedeliveries);

    /// <summary>PUTs every patient, 8 at a time.</summary>
    public Task PutPatientsAsync(IEnumerable<string> patientIds) =>
        Parallel.ForEachAsync(patientIds, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (p, _) => await PutPatientAsync(p));

    /// <summary>
    /// Waits until intake has processed every PUT Patient (stored for outreach): intake processes from a queue
    /// concurrently, so a Patient sent first can otherwise be processed after its Encounter, and the run's first
    /// send then finds no contact details ("no-channel").
    /// </summary>
    public async Task WaitForPatientsStoredAsync(IReadOnlyCollection<string> patientIds)
    {
        var table = new TableClient(Storage, "FhirResources");
        await table.CreateIfNotExistsAsync();
        var wanted = patientIds.ToHashSet();
        await Poll.UntilAsync(
            async () => await table.QueryAsync<TableEntity>(e => e.PartitionKey == "Patient", select: ["RowKey"]).CountAsync(r => wanted.Contains(r.RowKey)),
            n => n == wanted.Count, TimeSpan.FromMinutes(5), "every Patient stored");
    }

    private int readsUnavailable;

    /// <summary>
    /// How many follow-up reads answered 503 and were asked again (the host overloaded while a run counts thousands of
    /// patients: a read may time out, and "try again" is its documented answer). Scenarios record it.
    /// </summary>
    public int ReadsUnavailable => Volatile.Read(ref readsUnavailable);

    /// <summary>Follow-ups of a patient through <c>GET /api/followups?patient=</c>: their instance ids.</summary>
    public async Task<List<string>> FollowUpsAsync(string patientId) => [.. (await FollowUpRunsAsync(patientId)).Select(r => r.InstanceId)];

    /// <summary>
    /// Asks every follow-up of these patients to stop (<c>POST /api/followups/{id}/cancel</c>; 202, or 409 when it had
    /// ended already). A run the durable engine cannot load never takes the cancel (<see cref="RunningFollowUpsAsync"/>).
    /// </summary>
    public async Task CancelAllFollowUpsAsync(IReadOnlyList<string> patientIds)
    {
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = 8 };
        var runs = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForEachAsync(patientIds, parallel, async (p, _) =>
        {
            foreach (var id in await FollowUpsAsync(p))
            {
                runs.Add(id);
            }
        });
        await Parallel.ForEachAsync(runs, parallel, async (id, ct) =>
        {
            for (var attempt = 1; ; attempt++)
            {
                using var request = StandaloneHost.AdminRequest(HttpMethod.Post, $"/api/followups/{id}/cancel");
                using var response = await Host.Client.SendAsync(request, ct);
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable && attempt < 5)
                {
                    await Task.Delay(TimeSpan.FromSeconds(attempt), ct);
                    continue;
                }

                Assert.True(response.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.Conflict, $"cancel {id}: {(int)response.StatusCode}");
                break;
            }
        });
    }

    /// <summary>The follow-ups of these patients whose durable run has not ended (runtime status neither Completed nor Terminated).</summary>
    public async Task<List<string>> RunningFollowUpsAsync(IReadOnlyList<string> patientIds)
    {
        var running = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Parallel.ForEachAsync(patientIds, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (p, _) =>
        {
            foreach (var run in (await FollowUpRunsAsync(p)).Where(r => r.RuntimeStatus is not ("Completed" or "Terminated")))
            {
                running.Add(run.InstanceId);
            }
        });
        return [.. running.Order(StringComparer.Ordinal)];
    }

    /// <summary>Follow-ups of a patient through <c>GET /api/followups?patient=</c>: instance id and durable runtime status.</summary>
    public async Task<List<(string InstanceId, string? RuntimeStatus)>> FollowUpRunsAsync(string patientId)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = StandaloneHost.AdminRequest(HttpMethod.Get, $"/api/followups?patient={patientId}");
            using var response = await Host.Client.SendAsync(request);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable && attempt < 5)
            {
                Interlocked.Increment(ref readsUnavailable);
                await Task.Delay(TimeSpan.FromSeconds(attempt));
                continue;
            }

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            return [.. body.GetProperty("followUps").EnumerateArray().Select(f => (f.GetProperty("instanceId").GetString()!, f.GetProperty("runtimeStatus").GetString()))];
        }
    }

    /// <summary>Counts follow-ups of every patient (a few concurrent requests).</summary>
    public async Task<Dictionary<string, int>> FollowUpCountsAsync(IReadOnlyList<string> patientIds)
    {
        var counts = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        await Parallel.ForEachAsync(patientIds, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (p, _) => counts[p] = (await FollowUpsAsync(p)).Count);
        return new Dictionary<string, int>(counts);
    }

    /// <summary>Every outbox row: MessageId (row key), status, patient.</summary>
    public async Task<List<(string MessageId, string Status, string PatientId)>> OutboxAsync()
    {
        var table = new TableClient(Storage, OutboxTable);
        await table.CreateIfNotExistsAsync();
        var rows = new List<(string, string, string)>();
        await foreach (var row in table.QueryAsync<TableEntity>())
        {
            if (OutboxStore.IsPendingMarker(row.RowKey))
            {
                continue;
            }

            using var body = JsonDocument.Parse(row.GetString("Body"));
            rows.Add((row.RowKey, row.GetString("Status"), body.RootElement.GetProperty("PatientId").GetString()!));
        }

        return rows;
    }

    /// <summary>Every message on the outreach queue (read without deleting: hidden for 10 minutes), by MessageId.</summary>
    public async Task<List<string>> QueueMessageIdsAsync()
    {
        var queue = new QueueClient(Storage, QueueName, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        await queue.CreateIfNotExistsAsync();
        var ids = new List<string>();
        while (true)
        {
            var batch = (await queue.ReceiveMessagesAsync(32, TimeSpan.FromMinutes(10))).Value;
            if (batch.Length == 0)
            {
                return ids;
            }

            ids.AddRange(batch.Select(m => JsonNode.Parse(m.Body.ToString())!["messageId"]!.GetValue<string>()));
        }
    }

    /// <summary>Stored FHIR resources of one type for the given patients: (id, identifier values).</summary>
    public async Task<List<(string Id, string PatientId, string Identifiers)>> ResourcesAsync(string resourceType, ISet<string> patientIds)
    {
        var table = new TableClient(Storage, "FhirResources");
        await table.CreateIfNotExistsAsync();
        var rows = new List<(string, string, string)>();
        await foreach (var row in table.QueryAsync<TableEntity>(e => e.PartitionKey == resourceType))
        {
            var patient = row.GetString("Patient");
            if (patient is not null && patientIds.Contains(patient))
            {
                // identifier is an array on most resources, a single one (0..1) on QuestionnaireResponse.
                var identifier = JsonNode.Parse(row.GetString("Json") ?? "{}")?["identifier"];
                var identifiers = (identifier is JsonArray array ? array.AsEnumerable() : identifier is null ? [] : [identifier])
                    .Select(i => (string?)i?["system"] + "|" + (string?)i?["value"]);
                rows.Add((row.RowKey, patient, string.Join(',', identifiers)));
            }
        }

        return rows;
    }

    /// <summary>POSTs a QuestionnaireResponse through an engagement link: status and body, or null status when the connection failed.</summary>
    public async Task<(HttpStatusCode? Status, string Body)> SubmitResponseAsync(string token, string body, CancellationToken cancellationToken = default)
    {
        try
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/fhir+json");
            using var response = await Host.Client.PostAsync(new Uri($"/api/engage/{token}/response", UriKind.Relative), content, cancellationToken);
            return (response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
        }
        catch (HttpRequestException)
        {
            return (null, string.Empty);
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, string.Empty);
        }
    }

    /// <summary>Stores a ready Task for the patient, as the follow-up's send step does before it issues the link.</summary>
    public static async Task SeedTaskAsync(string patientId, string taskId)
    {
        var task = new Hl7.Fhir.Model.Task
        {
            Id = taskId,
            Status = Hl7.Fhir.Model.Task.TaskStatus.Ready,
            Intent = Hl7.Fhir.Model.Task.TaskIntent.Order,
            For = new Hl7.Fhir.Model.ResourceReference("Patient/" + patientId),
        };
        await Engagement.Integration.Tests.Fhir.FhirApi.Store.PutAsync(task, patientId, CancellationToken.None);
    }

    /// <summary>The status of a stored Task, or null when there is none.</summary>
    public async Task<string?> TaskStatusAsync(string taskId)
    {
        var table = new TableClient(Storage, "FhirResources");
        var row = await table.GetEntityIfExistsAsync<TableEntity>("Task", taskId);
        return row.HasValue ? (string?)JsonNode.Parse(row.Value!.GetString("Json") ?? "{}")?["status"] : null;
    }

    /// <summary>A PHQ-9 response (all answers "not at all" but the first, so no red flag) as the engagement page posts it.</summary>
    public static string Phq9Response(int first = 1)
    {
        string[] codes = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"];
        var items = new JsonArray([.. Enumerable.Range(1, 9).Select(i => (JsonNode)new JsonObject
        {
            ["linkId"] = "phq9-" + i.ToString(CultureInfo.InvariantCulture),
            ["answer"] = new JsonArray(new JsonObject { ["valueCoding"] = new JsonObject { ["system"] = "http://loinc.org", ["code"] = codes[i == 1 ? first : 0] } }),
        })]);
        return new JsonObject
        {
            ["resourceType"] = "QuestionnaireResponse",
            ["questionnaire"] = LinkApi.Questionnaire,
            ["status"] = "completed",
            ["item"] = items,
        }.ToJsonString();
    }

    public static string NewRun() => Guid.NewGuid().ToString("N")[..6];

    public static string PatientId(string run, int i) => $"rp-{run}-{i}";

    /// <summary>
    /// A backport full-resource event notification: event <paramref name="eventNumber"/> of
    /// <paramref name="subscription"/>, a finished inpatient Encounter ending now and its Patient (with
    /// demographics, so PHI scans have something to look for). <paramref name="dischargedAt"/> sets the Encounter's
    /// end (the protocol's anchor) instead of now.
    /// </summary>
    public static string Notification(string subscription, long eventNumber, string patientId, string encounterId, Demographics? who = null, DateTimeOffset? dischargedAt = null) =>
        TopicNotification(subscription, "http://hl7.org/SubscriptionTopic/encounter-complete", eventNumber,
            Encounter(encounterId, patientId, "finished", "1", dischargedAt), (who ?? Demographics.For(patientId)).Patient(patientId));

    /// <summary>
    /// An inpatient Encounter of the patient, <paramref name="status"/> (finished: ending at <paramref name="endedAt"/>,
    /// default now, after 3 days).
    /// </summary>
    public static JsonObject Encounter(string encounterId, string patientId, string status, string versionId, DateTimeOffset? endedAt = null)
    {
        var end = endedAt ?? DateTimeOffset.UtcNow;
        var period = new JsonObject { ["start"] = end.AddDays(-3).ToString("o", CultureInfo.InvariantCulture) };
        if (status == "finished")
        {
            period["end"] = end.ToString("o", CultureInfo.InvariantCulture);
        }

        return new JsonObject
        {
            ["resourceType"] = "Encounter",
            ["id"] = encounterId,
            ["meta"] = new JsonObject { ["versionId"] = versionId },
            ["status"] = status,
            ["class"] = new JsonObject { ["system"] = "http://terminology.hl7.org/CodeSystem/v3-ActCode", ["code"] = "IMP" },
            ["subject"] = new JsonObject { ["reference"] = "Patient/" + patientId },
            ["period"] = period,
        };
    }

    /// <summary>
    /// A backport full-resource event notification of <paramref name="topic"/>: event <paramref name="eventNumber"/>
    /// of <paramref name="subscription"/>, whose focus is the first resource; the others are sent along (the
    /// additional context, e.g. the Patient of an Encounter).
    /// </summary>
    public static string TopicNotification(string subscription, string topic, long eventNumber, params JsonObject[] resources)
    {
        ArgumentOutOfRangeException.ThrowIfZero(resources.Length);
        var now = DateTimeOffset.UtcNow;
        var n = eventNumber.ToString(CultureInfo.InvariantCulture);
        string Url(JsonObject r) => $"https://ehr.example.org/fhir/{(string)r["resourceType"]!}/{(string)r["id"]!}";
        var notificationEvent = new JsonArray(
            new JsonObject { ["name"] = "event-number", ["valueString"] = n },
            new JsonObject { ["name"] = "timestamp", ["valueInstant"] = now.ToString("o", CultureInfo.InvariantCulture) },
            new JsonObject { ["name"] = "focus", ["valueReference"] = new JsonObject { ["reference"] = Url(resources[0]) } });
        foreach (var context in resources.Skip(1))
        {
            notificationEvent.Add(new JsonObject { ["name"] = "additional-context", ["valueReference"] = new JsonObject { ["reference"] = Url(context) } });
        }

        var entries = new JsonArray(
            new JsonObject
            {
                ["fullUrl"] = "urn:uuid:" + Guid.NewGuid(),
                ["resource"] = new JsonObject
                {
                    ["resourceType"] = "Parameters",
                    ["parameter"] = new JsonArray(
                        new JsonObject { ["name"] = "subscription", ["valueReference"] = new JsonObject { ["reference"] = "https://ehr.example.org/fhir/Subscription/" + subscription } },
                        new JsonObject { ["name"] = "topic", ["valueCanonical"] = topic },
                        new JsonObject { ["name"] = "status", ["valueCode"] = "active" },
                        new JsonObject { ["name"] = "type", ["valueCode"] = "event-notification" },
                        new JsonObject { ["name"] = "events-since-subscription-start", ["valueString"] = n },
                        new JsonObject { ["name"] = "notification-event", ["part"] = notificationEvent }),
                },
                ["request"] = new JsonObject { ["method"] = "GET", ["url"] = $"https://ehr.example.org/fhir/Subscription/{subscription}/$status" },
                ["response"] = new JsonObject { ["status"] = "200" },
            });
        foreach (var resource in resources)
        {
            entries.Add(new JsonObject
            {
                ["fullUrl"] = Url(resource),
                ["resource"] = resource,
                ["request"] = new JsonObject { ["method"] = "PUT", ["url"] = $"{(string)resource["resourceType"]!}/{(string)resource["id"]!}" },
                ["response"] = new JsonObject { ["status"] = "200" },
            });
        }

        return new JsonObject
        {
            ["resourceType"] = "Bundle",
            ["type"] = "history",
            ["timestamp"] = now.ToString("o", CultureInfo.InvariantCulture),
            ["entry"] = entries,
        }.ToJsonString();
    }
}

/// <summary>A patient's identifying data, distinct per patient so a scan can tell whose it is.</summary>
public sealed record Demographics(string Given, string Family, string BirthDate, string Mrn, string Phone, string Email)
{
    public static Demographics For(string patientId)
    {
        var h = (uint)StableHash(patientId);
        return new Demographics(
            "Quillon" + (h % 9973).ToString(CultureInfo.InvariantCulture),
            "Vasquez-Threlkeld" + (h % 7919).ToString(CultureInfo.InvariantCulture),
            "19" + (40 + (h % 50)).ToString(CultureInfo.InvariantCulture) + "-0" + (1 + (h % 9)).ToString(CultureInfo.InvariantCulture) + "-1" + (h % 10).ToString(CultureInfo.InvariantCulture),
            "MRN-" + (10000000 + (h % 89999999)).ToString(CultureInfo.InvariantCulture),
            "+1555" + (1000000 + (h % 8999999)).ToString(CultureInfo.InvariantCulture),
            "q" + (h % 100000).ToString(CultureInfo.InvariantCulture) + ".threlkeld@example.net");
    }

    public JsonObject Patient(string id) => new()
    {
        ["resourceType"] = "Patient",
        ["id"] = id,
        ["meta"] = new JsonObject { ["versionId"] = "1" },
        ["identifier"] = new JsonArray(new JsonObject { ["system"] = "http://hospital.example.org/mrn", ["value"] = Mrn }),
        ["name"] = new JsonArray(new JsonObject { ["family"] = Family, ["given"] = new JsonArray(Given) }),
        ["telecom"] = new JsonArray(
            new JsonObject { ["system"] = "sms", ["value"] = Phone, ["use"] = "mobile" },
            new JsonObject { ["system"] = "email", ["value"] = Email }),
        ["birthDate"] = BirthDate,
        ["communication"] = new JsonArray(new JsonObject
        {
            ["language"] = new JsonObject { ["coding"] = new JsonArray(new JsonObject { ["system"] = "urn:ietf:bcp:47", ["code"] = "en" }) },
            ["preferred"] = true,
        }),
    };

    private static int StableHash(string s)
    {
        var h = 17;
        foreach (var c in s)
        {
            h = unchecked((h * 31) + c);
        }

        return h & int.MaxValue;
    }
}
