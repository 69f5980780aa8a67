using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Engagement.Fhir;
using Engagement.Http;
using Engagement.Intake;
using Engagement.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Engagement.WriteBack;

/// <summary>
/// Writes pending resources to the EHRs that accept writes. The first write of a resource is a conditional create on
/// our identifier (<c>POST [type]</c> with <c>If-None-Exist: identifier=system|value</c>), so a retry after a lost
/// answer finds the resource instead of creating a second; the id the EHR answers with (<c>Location</c>) is kept and
/// later versions (a Task completed, a CarePlan revoked) are <c>PUT [type]/[that id]</c>. References between our
/// resources are rewritten to the EHR's ids; a reference to one not written yet waits for it (or, inside a list such as
/// <c>CarePlan.activity</c>, is left out and the resource written again once it can be complete); references to what
/// only we hold (Provenance) are left out. Transient failures (network, 408, 429, 5xx)
/// are retried with a doubling delay; a refusal (any other 4xx) is recorded as failed and not retried.
/// A patient's choices on the engagement page go into the EHR's own Patient by a version-checked read-modify-write
/// (<c>GET Patient/[id]</c>, change only our two extensions and <c>communication</c>, <c>PUT</c> with
/// <c>If-Match</c>; a 412 reads again), for sources whose CapabilityStatement offers Patient <c>update</c>; a reply to
/// an appointment reminder goes into the EHR's Appointment the same way when the protocol says so (Appointment
/// <c>update</c>).
/// </summary>
public sealed partial class WriteBackDispatcher(
    WriteBackStore store,
    TableFhirResourceStore resources,
    SourceRegistry sources,
    SourceFhirClients clients,
    IOptions<WriteBackOptions> options,
    TimeProvider time,
    ILogger<WriteBackDispatcher> logger)
{
    private const int MaxPerPass = 200;
    private static readonly TimeSpan CapabilityLifetime = TimeSpan.FromHours(1);
    private const int MaxPatientConflicts = 3;

    /// <summary>The EHR's own resources we change by a version-checked read-modify-write (rows that ask for it).</summary>
    private static readonly string[] Updated = [WriteBackStore.PatientType, WriteBackStore.AppointmentType];
    private static readonly HashSet<string> AllTypes = new(WriteBackFhirResourceStore.Types, StringComparer.Ordinal);
    private static readonly HashSet<string> EveryType = new([.. WriteBackFhirResourceStore.Types, .. Updated], StringComparer.Ordinal);


    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (IReadOnlySet<string> Types, DateTimeOffset Until)> capabilities = new(StringComparer.OrdinalIgnoreCase);
    private const int MaxRounds = 4;

    /// <summary>Types only this service holds: the EHR gets no reference to them.</summary>
    private static readonly HashSet<string> LocalOnly = new(StringComparer.Ordinal) { "Provenance" };

    private enum Fate
    {
        Keep,
        Drop,
        Unresolved,
    }

    private enum Outcome
    {
        Done,
        Partial,
        Deferred,
        RetryLater,
        Failed,
    }

    /// <summary>One pass over every writable source. Returns the number of successful writes.</summary>
    public async Task<int> DispatchPendingAsync(CancellationToken cancellationToken)
    {
        var writes = 0;
        foreach (var name in sources.Names.ToList())
        {
            if (sources.Find(name) is not { WriteBack: not false, FhirBaseUrl: { } baseUrl } source)
            {
                continue;
            }

            var due = await store.DueAsync(name, MaxPerPass, cancellationToken);
            if (due.Count == 0)
            {
                continue;
            }

            using var http = await clients.CreateHttpClientAsync(name, source, cancellationToken);
            if (await WritableTypesAsync(name, source, baseUrl, http, cancellationToken) is not { } writable)
            {
                continue; // the CapabilityStatement could not be read: the rows wait for the next pass
            }

            var offered = new List<WriteBackItem>();
            foreach (var item in due)
            {
                if (writable.Contains(item.ResourceType))
                {
                    offered.Add(item);
                }
                else
                {
                    // Not offered by the server: recorded as failed, never sent; references to it are left out.
                    EngagementTelemetry.WriteBacks.Add(1, Tags(name, item.ResourceType, "not-offered"));
                    await store.RecordAsync(item with { Status = WriteBackStore.Failed }, cancellationToken);
                }
            }

            foreach (var item in offered.Where(i => Updated.Contains(i.ResourceType, StringComparer.Ordinal)))
            {
                writes += await UpdateEhrResourceAsync(name, baseUrl, http, item, cancellationToken) ? 1 : 0;
            }

            writes += await WriteAsync(name, baseUrl, http, [.. offered.Where(i => !Updated.Contains(i.ResourceType, StringComparer.Ordinal))], cancellationToken);
        }

        return writes;
    }

    /// <summary>
    /// The types we may write to a source: all of them when <c>WriteBack</c> is true, else those its CapabilityStatement
    /// (<c>GET [base]/metadata</c>, read at most hourly) offers <c>create</c> with <c>conditionalCreate</c> for, and
    /// Patient when it offers Patient <c>update</c>. Null when the statement cannot be read now.
    /// </summary>
    private async Task<IReadOnlySet<string>?> WritableTypesAsync(string name, SourceOptions source, Uri baseUrl, HttpClient http, CancellationToken cancellationToken)
    {
        if (source.WriteBack == true)
        {
            return EveryType;
        }

        var now = time.GetUtcNow();
        if (capabilities.TryGetValue(name, out var cached) && cached.Until > now)
        {
            return cached.Types;
        }

        HashSet<string> types;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, Combine(baseUrl, "metadata"));
            request.Headers.Accept.ParseAdd("application/fhir+json");
            using var response = await http.SendAsync(request, cancellationToken);
            if ((int)response.StatusCode is 408 or 429 or >= 500)
            {
                return null;
            }

            types = response.IsSuccessStatusCode ? Creatable(await response.Content.ReadAsStringAsync(cancellationToken)) : [];
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            logger.LogInformation("The CapabilityStatement of source {Source} could not be read ({ExceptionType}); write-back waits.", name, ex.GetType().Name);
            return null;
        }

        logger.LogInformation("Source {Source} offers conditional create for {Types}.", name, types.Count == 0 ? "nothing we write" : string.Join(", ", types.Order(StringComparer.Ordinal)));
        capabilities[name] = (types, now + CapabilityLifetime);
        return types;
    }

    private static HashSet<string> Creatable(string capabilityStatement)
    {
        var types = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            using var json = JsonDocument.Parse(capabilityStatement);
            if (!json.RootElement.TryGetProperty("rest", out var rest) || rest.ValueKind != JsonValueKind.Array)
            {
                return types;
            }

            foreach (var server in rest.EnumerateArray().Where(r => r.TryGetProperty("mode", out var mode) && mode.ValueEquals("server")))
            {
                if (!server.TryGetProperty("resource", out var resources) || resources.ValueKind != JsonValueKind.Array)
                {
                    continue;
                }

                foreach (var resource in resources.EnumerateArray())
                {
                    if (resource.TryGetProperty("type", out var updated) && updated.GetString() is { } updatedType && Updated.Contains(updatedType, StringComparer.Ordinal)
                        && resource.TryGetProperty("interaction", out var updateInteractions) && updateInteractions.ValueKind == JsonValueKind.Array
                        && updateInteractions.EnumerateArray().Any(i => i.TryGetProperty("code", out var code) && code.ValueEquals("update")))
                    {
                        types.Add(updatedType);
                    }

                    if (resource.TryGetProperty("type", out var type) && type.GetString() is { } name && AllTypes.Contains(name)
                        && resource.TryGetProperty("conditionalCreate", out var conditional) && conditional.ValueKind == JsonValueKind.True
                        && resource.TryGetProperty("interaction", out var interactions) && interactions.ValueKind == JsonValueKind.Array
                        && interactions.EnumerateArray().Any(i => i.TryGetProperty("code", out var code) && code.ValueEquals("create")))
                    {
                        types.Add(name);
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not a CapabilityStatement we can read: nothing offered.
        }

        return types;
    }

    private async Task<int> WriteAsync(string source, Uri baseUrl, HttpClient http, IReadOnlyList<WriteBackItem> due, CancellationToken cancellationToken)
    {
        // CarePlans first, then Tasks (based on them), Communications and responses (based on Tasks), then what refers
        // to those: Observations (derived from responses), Flags, Consents (their source a Communication).
        var remaining = due.OrderBy(i => Rank(i.ResourceType)).ThenBy(i => i.NextAttemptAt).ToList();
        var known = new Dictionary<string, WriteBackItem?>(StringComparer.Ordinal);
        foreach (var item in remaining)
        {
            known[Key(item.ResourceType, item.ResourceId)] = item;
        }

        var writes = 0;
        for (var round = 0; round < MaxRounds && remaining.Count > 0; round++)
        {
            var next = new List<WriteBackItem>();
            var progress = false;
            foreach (var item in remaining)
            {
                var hadEhrId = item.Written;
                var (outcome, updated) = await WriteOneAsync(source, baseUrl, http, item, known, cancellationToken);
                known[Key(item.ResourceType, item.ResourceId)] = updated;
                writes += outcome is Outcome.Done or Outcome.Partial ? 1 : 0;
                progress |= outcome is Outcome.Done or Outcome.Failed || (outcome is Outcome.Partial && !hadEhrId);
                if (outcome is Outcome.Partial or Outcome.Deferred)
                {
                    next.Add(updated);
                }
            }

            if (!progress)
            {
                break;
            }

            remaining = next;
        }

        return writes;
    }

    private async Task<(Outcome, WriteBackItem)> WriteOneAsync(
        string source, Uri baseUrl, HttpClient http, WriteBackItem item, Dictionary<string, WriteBackItem?> known, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var stored = await resources.GetAsync(item.ResourceType, item.ResourceId, cancellationToken);
        if (stored is null || WriteBackFhirResourceStore.OurIdentifier(stored.Resource) is not { } identifier)
        {
            return (Outcome.Failed, await store.RecordAsync(item with { Status = WriteBackStore.Failed }, cancellationToken));
        }

        var body = JsonNode.Parse(FhirJson.SerializeToUtf8Bytes(stored.Resource))!.AsObject();
        body.Remove("id");
        if (body["meta"] is JsonObject meta)
        {
            meta.Remove("versionId");
            meta.Remove("lastUpdated");
            if (meta.Count == 0)
            {
                body.Remove("meta");
            }
        }

        var partial = false;
        foreach (var (name, child) in body.ToList())
        {
            if (child is null)
            {
                continue;
            }

            var (fate, childPartial) = await VisitAsync(child, source, known, cancellationToken);
            partial |= childPartial;
            if (fate == Fate.Unresolved)
            {
                return (Outcome.Deferred, item); // a single reference (Task.focus) to what the EHR has not got yet
            }

            if (fate == Fate.Drop || child is JsonArray { Count: 0 })
            {
                body.Remove(name);
            }
        }

        var condition = "identifier=" + Uri.EscapeDataString(identifier.System + "|" + identifier.Value);
        using var request = new HttpRequestMessage();
        if (!item.Written)
        {
            request.Method = HttpMethod.Post;
            request.RequestUri = Combine(baseUrl, item.ResourceType);
            request.Headers.TryAddWithoutValidation("If-None-Exist", condition);
        }
        else if (item.EhrId is { } ehrId)
        {
            body["id"] = ehrId;
            request.Method = HttpMethod.Put;
            request.RequestUri = Combine(baseUrl, $"{item.ResourceType}/{Uri.EscapeDataString(ehrId)}");
        }
        else
        {
            request.Method = HttpMethod.Put;
            request.RequestUri = Combine(baseUrl, $"{item.ResourceType}?{condition}");
        }

        var reordered = new JsonObject { ["resourceType"] = item.ResourceType };
        foreach (var (name, child) in body.ToList())
        {
            if (name != "resourceType")
            {
                body.Remove(name);
                reordered[name] = child;
            }
        }

        request.Content = new StringContent(reordered.ToJsonString(), Encoding.UTF8, "application/fhir+json");
        request.Headers.Accept.ParseAdd("application/fhir+json");

        HttpStatusCode status;
        string? ehrIdAnswered = null;
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            status = response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                ehrIdAnswered = IdFromLocation(response.Headers.Location, item.ResourceType)
                    ?? IdFromLocation(response.Content.Headers.ContentLocation, item.ResourceType)
                    ?? await IdFromBodyAsync(response, cancellationToken);
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Network, timeout, the resilience handler's circuit open: all transient from here.
            return (Outcome.RetryLater, await RetryLaterAsync(source, item, null, ex.GetType().Name, now, cancellationToken));
        }

        var code = (int)status;
        if (code is >= 200 and < 300)
        {
            var outcome = !item.Written ? (status == HttpStatusCode.Created ? "created" : "matched") : "updated";
            EngagementTelemetry.WriteBacks.Add(1, Tags(source, item.ResourceType, outcome));
            var updated = item with
            {
                Written = true,
                EhrId = ehrIdAnswered ?? item.EhrId,
                LastStatus = code,
                Attempts = 0,
                Status = partial ? WriteBackStore.Pending : WriteBackStore.Done,
                NextAttemptAt = partial ? now + options.Value.RetryDelay : item.NextAttemptAt,
            };
            return (partial ? Outcome.Partial : Outcome.Done, await store.RecordAsync(updated, cancellationToken));
        }

        if (code is 408 or 429 or >= 500)
        {
            return (Outcome.RetryLater, await RetryLaterAsync(source, item, code, code.ToString(CultureInfo.InvariantCulture), now, cancellationToken));
        }

        EngagementTelemetry.WriteBacks.Add(1, Tags(source, item.ResourceType, "failed"));
        logger.LogWarning("Write-back of {ResourceType}/{ResourceId} to source {Source} refused with {Status}; not retried.",
            item.ResourceType, item.ResourceId, source, code);
        return (Outcome.Failed, await store.RecordAsync(item with { Status = WriteBackStore.Failed, LastStatus = code }, cancellationToken));
    }

    /// <summary>
    /// Writes the patient's choices into the EHR's Patient (our two extensions and the preferred <c>communication</c>)
    /// or the patient's reply into the EHR's Appointment (<see cref="ApplyAppointmentReply"/>): read it, change only that
    /// in its JSON, and <c>PUT</c> it back with <c>If-Match</c> on the version read, so a change the EHR made meanwhile
    /// is never overwritten (412: read again, at most <see cref="MaxPatientConflicts"/> times per pass). Nothing is
    /// written when the EHR's resource already says it.
    /// </summary>
    private async Task<bool> UpdateEhrResourceAsync(string source, Uri baseUrl, HttpClient http, WriteBackItem item, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        Action<JsonObject>? apply = item switch
        {
            { ResourceType: WriteBackStore.PatientType, Preferences: { } preferences } => preferences.ApplyTo,
            { ResourceType: WriteBackStore.AppointmentType, AppointmentReply: { } reply } => appointment => ApplyAppointmentReply(appointment, item.PatientId, reply),
            _ => null,
        };
        if (apply is null)
        {
            await store.RecordAsync(item with { Status = WriteBackStore.Failed }, cancellationToken);
            return false;
        }

        var path = $"{item.ResourceType}/{Uri.EscapeDataString(item.ResourceId)}";
        int code;
        try
        {
            for (var conflict = 0; ; conflict++)
            {
                using var read = new HttpRequestMessage(HttpMethod.Get, Combine(baseUrl, path));
                read.Headers.Accept.ParseAdd("application/fhir+json");
                using var current = await http.SendAsync(read, cancellationToken);
                code = (int)current.StatusCode;
                if (!current.IsSuccessStatusCode)
                {
                    break;
                }

                if (JsonNode.Parse(await current.Content.ReadAsStringAsync(cancellationToken)) is not JsonObject resource
                    || resource["resourceType"]?.GetValue<string>() != item.ResourceType)
                {
                    code = (int)HttpStatusCode.UnprocessableEntity; // not the resource asked for: nothing we can change
                    break;
                }

                var before = resource.ToJsonString();
                apply(resource);
                if (resource.ToJsonString() == before)
                {
                    EngagementTelemetry.WriteBacks.Add(1, Tags(source, item.ResourceType, "matched"));
                    await store.RecordAsync(item with { Status = WriteBackStore.Done, Written = true, EhrId = item.ResourceId, LastStatus = code, Attempts = 0 }, cancellationToken);
                    return true;
                }

                using var write = new HttpRequestMessage(HttpMethod.Put, Combine(baseUrl, path))
                {
                    Content = new StringContent(resource.ToJsonString(), Encoding.UTF8, "application/fhir+json"),
                };
                write.Headers.Accept.ParseAdd("application/fhir+json");
                if (current.Headers.ETag?.Tag is { } etag)
                {
                    write.Headers.TryAddWithoutValidation("If-Match", (current.Headers.ETag.IsWeak ? "W/" : string.Empty) + etag);
                }
                else if (resource["meta"]?["versionId"] is JsonValue version && version.TryGetValue<string>(out var versionId))
                {
                    write.Headers.TryAddWithoutValidation("If-Match", $"W/\"{versionId}\"");
                }

                using var written = await http.SendAsync(write, cancellationToken);
                code = (int)written.StatusCode;
                if (written.StatusCode != HttpStatusCode.PreconditionFailed || conflict + 1 >= MaxPatientConflicts)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            await RetryLaterAsync(source, item, null, ex.GetType().Name, now, cancellationToken);
            return false;
        }

        if (code is >= 200 and < 300)
        {
            EngagementTelemetry.WriteBacks.Add(1, Tags(source, item.ResourceType, "updated"));
            await store.RecordAsync(item with { Status = WriteBackStore.Done, Written = true, EhrId = item.ResourceId, LastStatus = code, Attempts = 0 }, cancellationToken);
            return true;
        }

        if (code is 408 or 412 or 429 or >= 500)
        {
            // 412: the EHR's resource kept changing under us; the next pass reads it again.
            await RetryLaterAsync(source, item, code, code.ToString(CultureInfo.InvariantCulture), now, cancellationToken);
            return false;
        }

        EngagementTelemetry.WriteBacks.Add(1, Tags(source, item.ResourceType, "failed"));
        logger.LogWarning("Write-back of a {ResourceType} change to source {Source} refused with {Status}; not retried.", item.ResourceType, source, code);
        await store.RecordAsync(item with { Status = WriteBackStore.Failed, LastStatus = code }, cancellationToken);
        return false;
    }

    /// <summary>
    /// A patient's reply in the EHR's Appointment. Confirmed: the patient participant's status becomes accepted.
    /// Cancelled: the Appointment becomes cancelled, cancelationReason "pat" (the patient), the participant declined.
    /// An Appointment already over or gone (cancelled, fulfilled, noshow, entered-in-error, arrived, checked-in) is
    /// left as it is.
    /// </summary>
    internal static void ApplyAppointmentReply(JsonObject appointment, string patientId, string reply)
    {
        if (appointment["status"] is JsonValue status && status.TryGetValue<string>(out var current)
            && current is "cancelled" or "fulfilled" or "noshow" or "entered-in-error" or "arrived" or "checked-in")
        {
            return;
        }

        var participant = (appointment["participant"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(p =>
            p["actor"]?["reference"] is JsonValue value && value.TryGetValue<string>(out var reference)
            && (reference == "Patient/" + patientId || reference.EndsWith("/Patient/" + patientId, StringComparison.Ordinal)));
        if (reply == WriteBackStore.AppointmentConfirmed)
        {
            if (participant is not null)
            {
                participant["status"] = "accepted";
            }

            return;
        }

        appointment["status"] = "cancelled";
        appointment["cancelationReason"] = new JsonObject
        {
            ["coding"] = new JsonArray(new JsonObject
            {
                ["system"] = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason",
                ["code"] = "pat",
                ["display"] = "Patient",
            }),
        };
        if (participant is not null)
        {
            participant["status"] = "declined";
        }
    }

    private async Task<WriteBackItem> RetryLaterAsync(string source, WriteBackItem item, int? code, string reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var attempts = item.Attempts + 1;
        if (attempts >= options.Value.MaxAttempts)
        {
            EngagementTelemetry.WriteBacks.Add(1, Tags(source, item.ResourceType, "failed"));
            logger.LogWarning("Write-back of {ResourceType}/{ResourceId} to source {Source} given up after {Attempts} attempts ({Reason}).",
                item.ResourceType, LoggedId(item), source, attempts, reason);
            return await store.RecordAsync(item with { Status = WriteBackStore.Failed, Attempts = attempts, LastStatus = code }, cancellationToken);
        }

        var delay = TimeSpan.FromTicks(Math.Min(
            options.Value.RetryDelay.Ticks * (1L << Math.Min(attempts - 1, 20)),
            TimeSpan.FromMinutes(15).Ticks));
        logger.LogInformation("Write-back of {ResourceType}/{ResourceId} to source {Source} failed ({Reason}); retry {Attempt} in {Delay}.",
            item.ResourceType, LoggedId(item), source, reason, attempts, delay);
        return await store.RecordAsync(item with { Attempts = attempts, LastStatus = code, NextAttemptAt = now + delay }, cancellationToken);
    }

    /// <summary>
    /// Rewrites references to our written resources to the EHR's ids. Returns what should happen to the nearest
    /// list entry holding this node (<see cref="Fate.Drop"/>, <see cref="Fate.Unresolved"/>), and whether an entry was
    /// left out that a later write should include.
    /// </summary>
    private async Task<(Fate Fate, bool Partial)> VisitAsync(JsonNode node, string source, Dictionary<string, WriteBackItem?> known, CancellationToken cancellationToken)
    {
        switch (node)
        {
            case JsonObject obj:
                if (obj["reference"] is JsonValue value && value.TryGetValue<string>(out var reference) && OwnReference().Match(reference) is { Success: true } match)
                {
                    var (type, id) = (match.Groups[1].Value, match.Groups[2].Value);
                    if (LocalOnly.Contains(type))
                    {
                        return (Fate.Drop, false);
                    }

                    var key = Key(type, id);
                    if (!known.TryGetValue(key, out var target))
                    {
                        target = await store.GetAsync(source, type, id, cancellationToken);
                        known[key] = target;
                    }

                    if (target is null)
                    {
                        return (Fate.Keep, false); // not ours: a resource of the EHR (the CarePlan a run is based on)
                    }

                    if (target is { Written: true, EhrId: { } ehrId })
                    {
                        obj["reference"] = $"{type}/{ehrId}";
                        return (Fate.Keep, false);
                    }

                    return (target.Status == WriteBackStore.Failed || target.Written ? Fate.Drop : Fate.Unresolved, false);
                }

                var partial = false;
                foreach (var (name, child) in obj.ToList())
                {
                    if (child is null)
                    {
                        continue;
                    }

                    var (fate, childPartial) = await VisitAsync(child, source, known, cancellationToken);
                    partial |= childPartial;
                    if (fate != Fate.Keep)
                    {
                        return (fate, partial);
                    }

                    if (child is JsonArray { Count: 0 })
                    {
                        obj.Remove(name);
                    }
                }

                return (Fate.Keep, partial);

            case JsonArray array:
                var left = false;
                for (var i = array.Count - 1; i >= 0; i--)
                {
                    if (array[i] is not { } entry)
                    {
                        continue;
                    }

                    var (fate, childPartial) = await VisitAsync(entry, source, known, cancellationToken);
                    left |= childPartial;
                    if (fate != Fate.Keep)
                    {
                        array.RemoveAt(i);
                        left |= fate == Fate.Unresolved;
                    }
                }

                return (Fate.Keep, left);

            default:
                return (Fate.Keep, false);
        }
    }

    private static Uri Combine(Uri baseUrl, string relative) => new(baseUrl.ToString().TrimEnd('/') + "/" + relative);

    private static string? IdFromLocation(Uri? location, string resourceType)
    {
        if (location is null)
        {
            return null;
        }

        var path = location.IsAbsoluteUri ? location.AbsolutePath : location.OriginalString.Split('?')[0];
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var at = Array.LastIndexOf(segments, resourceType);
        return at >= 0 && at + 1 < segments.Length && segments[at + 1] != "_history" ? Uri.UnescapeDataString(segments[at + 1]) : null;
    }

    private static async Task<string?> IdFromBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (text.Length == 0)
            {
                return null;
            }

            using var json = JsonDocument.Parse(text);
            return json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String
                ? id.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Our ids are ours to log; a Patient's id is the EHR's identifier of a person, so it is not logged.</summary>
    private static string LoggedId(WriteBackItem item) => item.ResourceType == WriteBackStore.PatientType ? "[patient]" : item.ResourceId;

    private static int Rank(string resourceType) => resourceType switch
    {
        "CarePlan" => 0,
        "Task" => 1,
        "Communication" or "QuestionnaireResponse" => 2,
        _ => 3,
    };

    private static string Key(string type, string id) => type + "|" + id;

    private static KeyValuePair<string, object?>[] Tags(string source, string resourceType, string outcome) =>
    [
        new("source", source),
        new("resourceType", resourceType),
        new("outcome", outcome),
    ];

    [GeneratedRegex(@"^(CarePlan|Task|QuestionnaireResponse|Observation|Communication|Flag|Provenance|Consent)/([A-Za-z0-9\-\.]{1,64})$", RegexOptions.CultureInvariant)]
    private static partial Regex OwnReference();
}
