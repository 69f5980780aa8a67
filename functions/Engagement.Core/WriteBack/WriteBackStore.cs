using System.Net;
using Azure;
using Azure.Data.Tables;
using Engagement.FollowUp;
using Engagement.Intake;
using Engagement.Preferences;
using Engagement.Storage;
using Engagement.Storage.AzureStorage;
using Microsoft.Extensions.Options;

namespace Engagement.WriteBack;

/// <summary>
/// The <c>WriteBack</c> table. Partition <c>item-{source}</c>, row <c>{type}|{id}</c>: one row per resource and source,
/// holding the hash of the content last asked for, whether that content is written (<c>Pending</c>, <c>Done</c>,
/// <c>Failed</c>), the attempts, and the id the EHR gave the resource (so later versions update it, and references to it
/// can be rewritten). Partition <c>patient-{patientId}</c>, row <c>{source}</c>: which sources a patient came from.
/// A patient's choices on the engagement page are a row <c>Patient|{patientId}</c> in the item partition holding the
/// chosen channel, language and contact window (<see cref="EnqueuePatientPreferencesAsync"/>); a patient's reply to an
/// appointment reminder is a row <c>Appointment|{appointmentId}</c> (<see cref="EnqueueAppointmentReplyAsync"/>).
/// </summary>
public sealed class WriteBackStore(StorageClients storage, SourceRegistry sources, IOptions<WriteBackOptions> options, TimeProvider time)
{
    public const string Pending = "Pending";
    public const string Done = "Done";
    public const string Failed = "Failed";

    /// <summary>The type of the rows that ask for the patient's preferences to be written into the EHR's Patient.</summary>
    public const string PatientType = "Patient";

    /// <summary>The type of the rows that ask for a patient's reply to be written into the EHR's Appointment.</summary>
    public const string AppointmentType = "Appointment";

    /// <summary>The patient confirmed the appointment (their participation becomes accepted).</summary>
    public const string AppointmentConfirmed = "confirmed";

    /// <summary>The patient cancelled the appointment (it becomes cancelled, reason: the patient).</summary>
    public const string AppointmentCancelled = "cancelled";

    private const int MaxConflictRetries = 8;

    private static readonly TimeSpan SourcesCacheLifetime = TimeSpan.FromMinutes(1);

    private readonly TableClient table = storage.Tables.GetTableClient(options.Value.TableName);
    private readonly RecentMap<string, (string[] Sources, DateTimeOffset Until)> sourcesCache = new(50_000, StringComparer.Ordinal);

    // Patient-source rows this process has written: each is written once, then kept (never deleted), so an event of a
    // patient already recorded costs no storage call.
    private readonly RecentMap<string, bool> recordedSources = new(100_000, StringComparer.Ordinal);
    private volatile bool created;

    /// <summary>
    /// Remembers that <paramref name="patientId"/> came from <paramref name="source"/> when that source may accept writes
    /// (idempotent; nothing is stored for other sources).
    /// </summary>
    public async Task RecordPatientSourceAsync(string patientId, string source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (sources.Find(source) is not { MayWriteBack: true })
        {
            return;
        }

        source = source.ToLowerInvariant();
        var recorded = patientId + "\n" + source;
        if (recordedSources.Contains(recorded)
            || (sourcesCache.TryGet(patientId, out var cached) && cached.Sources.Contains(source, StringComparer.Ordinal)))
        {
            return;
        }

        await EnsureTableAsync(cancellationToken);
        await table.UpsertEntityAsync(new TableEntity("patient-" + patientId, source), TableUpdateMode.Merge, cancellationToken);
        sourcesCache.Remove(patientId);
        recordedSources.Set(recorded, true);
    }

    /// <summary>The sources a patient came from (lower case).</summary>
    public async Task<string[]> SourcesOfAsync(string patientId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (sourcesCache.TryGet(patientId, out var cached) && cached.Until > now)
        {
            return cached.Sources;
        }

        await EnsureTableAsync(cancellationToken);
        var sources = new List<string>();
        await foreach (var row in table.QueryAsync<TableEntity>(e => e.PartitionKey == "patient-" + patientId, select: ["RowKey"], cancellationToken: cancellationToken))
        {
            sources.Add(row.RowKey);
        }

        var result = sources.ToArray();
        sourcesCache.Set(patientId, (result, now + SourcesCacheLifetime));
        return result;
    }

    /// <summary>
    /// Asks for the resource's current content (<paramref name="hash"/>) to be written to the source. A no-op when that
    /// content was already asked for, so re-running the step that stored it costs one read.
    /// </summary>
    public async Task EnqueueAsync(string source, string patientId, string resourceType, string resourceId, string hash, CancellationToken cancellationToken)
    {
        source = source.ToLowerInvariant();
        await EnsureTableAsync(cancellationToken);
        var existing = await table.GetEntityIfExistsAsync<TableEntity>(ItemPartition(source), RowKey(resourceType, resourceId), cancellationToken: cancellationToken);
        if (existing.HasValue && existing.Value!.GetString("Hash") == hash)
        {
            return;
        }

        await table.UpsertEntityAsync(PendingRow(source, patientId, resourceType, resourceId, hash), TableUpdateMode.Merge, cancellationToken);
    }

    /// <summary>A row that asks for a write: pending now, no attempts yet (merged over what the row held).</summary>
    private TableEntity PendingRow(string source, string patientId, string resourceType, string resourceId, string hash) =>
        new(ItemPartition(source), RowKey(resourceType, resourceId))
        {
            ["Source"] = source,
            ["PatientId"] = patientId,
            ["ResourceType"] = resourceType,
            ["ResourceId"] = resourceId,
            ["Hash"] = hash,
            ["Status"] = Pending,
            ["Attempts"] = 0,
            ["NextAttemptAt"] = time.GetUtcNow(),
        };

    /// <summary>
    /// Asks for what the patient chose on the engagement page to be written into the EHR's Patient at the source. The
    /// change is merged over what was asked before (a channel chosen yesterday and a language today are both written),
    /// so the row always holds every field the patient chose, each at its latest value; asking again for the same
    /// choices is a no-op. Conditional on the row's ETag, so two changes at once are both kept.
    /// </summary>
    public async Task EnqueuePatientPreferencesAsync(string source, string patientId, PreferenceChange change, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(change);
        source = source.ToLowerInvariant();
        await EnsureTableAsync(cancellationToken);
        for (var attempt = 0; attempt < MaxConflictRetries; attempt++)
        {
            var existing = await table.GetEntityIfExistsAsync<TableEntity>(ItemPartition(source), RowKey(PatientType, patientId), cancellationToken: cancellationToken);
            var merged = existing.HasValue && PreferencesOf(existing.Value!) is { } previous
                ? new PreferenceChange(change.Channel ?? previous.Channel, change.Language ?? previous.Language, change.Window ?? previous.Window)
                : change;
            var hash = PreferencesHash(merged);
            if (existing.HasValue && existing.Value!.GetString("Hash") == hash)
            {
                return;
            }

            var entity = PendingRow(source, patientId, PatientType, patientId, hash);
            if (merged.Channel is { } channel)
            {
                entity["Channel"] = channel;
            }

            if (merged.Language is { } language)
            {
                entity["Language"] = language;
            }

            if (merged.Window is { } window)
            {
                entity["WindowStart"] = window.Start.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture);
                entity["WindowEnd"] = window.End.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture);
            }

            try
            {
                if (existing.HasValue)
                {
                    await table.UpdateEntityAsync(entity, existing.Value!.ETag, TableUpdateMode.Merge, cancellationToken);
                }
                else
                {
                    await table.AddEntityAsync(entity, cancellationToken);
                }

                return;
            }
            catch (RequestFailedException ex) when (ex.Status is (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.Conflict)
            {
                // Changed (or created) by a concurrent change since it was read: merge over that one.
            }
        }

        throw new InvalidOperationException("The write-back row of the patient's preferences kept changing; try again.");
    }

    /// <summary>
    /// Asks for a patient's reply to an appointment reminder to be written into the EHR's Appointment at the source the
    /// appointment came from (see <see cref="WriteBackDispatcher"/>). The latest reply is the one written; asking again
    /// for the same reply writes it again only if it is not there (the dispatcher compares before it updates).
    /// </summary>
    public async Task EnqueueAppointmentReplyAsync(string source, string patientId, string appointmentId, string reply, CancellationToken cancellationToken)
    {
        if (reply is not (AppointmentConfirmed or AppointmentCancelled))
        {
            throw new ArgumentOutOfRangeException(nameof(reply), reply, "An appointment reply is confirmed or cancelled.");
        }

        source = source.ToLowerInvariant();
        await EnsureTableAsync(cancellationToken);
        var entity = PendingRow(source, patientId, AppointmentType, appointmentId, reply);
        entity["Reply"] = reply;
        await table.UpsertEntityAsync(entity, TableUpdateMode.Merge, cancellationToken);
    }

    /// <summary>The patient's choices a <see cref="PatientType"/> row holds, or null for other rows.</summary>
    internal static PreferenceChange? PreferencesOf(TableEntity row)
    {
        if (row.GetString("ResourceType") != PatientType)
        {
            return null;
        }

        ContactWindow? window = ContactWindow.TryCreate(Time(row.GetString("WindowStart")), Time(row.GetString("WindowEnd")), out var parsed) ? parsed : null;
        return new PreferenceChange(row.GetString("Channel"), row.GetString("Language"), window);

        static TimeOnly? Time(string? value) =>
            TimeOnly.TryParseExact(value, "HH:mm", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var t) ? t : null;
    }

    private static string PreferencesHash(PreferenceChange change) =>
        string.Join('|', change.Channel, change.Language, change.Window?.Start.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture), change.Window?.End.ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>Pending rows of a source that are due, oldest request first.</summary>
    public async Task<IReadOnlyList<WriteBackItem>> DueAsync(string source, int max, CancellationToken cancellationToken)
    {
        source = source.ToLowerInvariant();
        await EnsureTableAsync(cancellationToken);
        var now = time.GetUtcNow();
        var items = new List<WriteBackItem>();
        await foreach (var row in table.QueryAsync<TableEntity>(
            e => e.PartitionKey == ItemPartition(source) && e.GetString("Status") == Pending, cancellationToken: cancellationToken))
        {
            var item = WriteBackItem.From(row);
            if (item.NextAttemptAt <= now)
            {
                items.Add(item);
                if (items.Count >= max)
                {
                    break;
                }
            }
        }

        return items;
    }

    public async Task<WriteBackItem?> GetAsync(string source, string resourceType, string resourceId, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(ItemPartition(source.ToLowerInvariant()), RowKey(resourceType, resourceId), cancellationToken: cancellationToken);
        return row.HasValue ? WriteBackItem.From(row.Value!) : null;
    }

    /// <summary>All rows of a source (operator view and tests).</summary>
    public async Task<IReadOnlyList<WriteBackItem>> ListAsync(string source, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken);
        var items = new List<WriteBackItem>();
        await foreach (var row in table.QueryAsync<TableEntity>(e => e.PartitionKey == ItemPartition(source.ToLowerInvariant()), cancellationToken: cancellationToken))
        {
            items.Add(WriteBackItem.From(row));
        }

        return items;
    }

    /// <summary>
    /// Records the outcome of an attempt. Conditional on the row not having changed since it was read: when a newer
    /// version was asked for meanwhile, only the EHR id is kept and the row stays pending for that version.
    /// Returns the row as it now is.
    /// </summary>
    public async Task<WriteBackItem> RecordAsync(WriteBackItem item, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(item);
        var entity = new TableEntity(ItemPartition(item.Source), RowKey(item.ResourceType, item.ResourceId))
        {
            ["Status"] = item.Status,
            ["Attempts"] = item.Attempts,
            ["NextAttemptAt"] = item.NextAttemptAt,
            ["EhrId"] = item.EhrId,
            ["Written"] = item.Written,
            ["LastStatus"] = item.LastStatus,
        };
        try
        {
            var response = await table.UpdateEntityAsync(entity, item.ETag, TableUpdateMode.Merge, cancellationToken);
            return item with { ETag = response.Headers.ETag ?? ETag.All };
        }
        catch (RequestFailedException ex) when (ex.Status == (int)HttpStatusCode.PreconditionFailed)
        {
            await table.UpdateEntityAsync(new TableEntity(entity.PartitionKey, entity.RowKey)
            {
                ["EhrId"] = item.EhrId,
                ["Written"] = item.Written,
            }, ETag.All, TableUpdateMode.Merge, cancellationToken);
            return (await GetAsync(item.Source, item.ResourceType, item.ResourceId, cancellationToken))!;
        }
    }

    private static string ItemPartition(string source) => "item-" + source;

    private static string RowKey(string resourceType, string resourceId) => resourceType + "|" + resourceId;

    private async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (!created)
        {
            await table.CreateIfNotExistsAsync(cancellationToken);
            created = true;
        }
    }
}

/// <summary>
/// One resource to write to one source, as stored. For a <see cref="WriteBackStore.PatientType"/> row,
/// <see cref="Preferences"/> holds the patient's choices to write into the EHR's Patient; for an
/// <see cref="WriteBackStore.AppointmentType"/> row, <see cref="AppointmentReply"/> the reply for the EHR's Appointment.
/// </summary>
public sealed record WriteBackItem(
    string Source,
    string PatientId,
    string ResourceType,
    string ResourceId,
    string Hash,
    string Status,
    int Attempts,
    DateTimeOffset NextAttemptAt,
    string? EhrId,
    bool Written,
    int? LastStatus,
    ETag ETag)
{
    public PreferenceChange? Preferences { get; init; }

    /// <summary>For a <see cref="WriteBackStore.AppointmentType"/> row: the patient's reply to write into the EHR's Appointment.</summary>
    public string? AppointmentReply { get; init; }

    internal static WriteBackItem From(TableEntity row) => new(
        row.GetString("Source"),
        row.GetString("PatientId"),
        row.GetString("ResourceType"),
        row.GetString("ResourceId"),
        row.GetString("Hash") ?? string.Empty,
        row.GetString("Status") ?? WriteBackStore.Pending,
        row.GetInt32("Attempts") ?? 0,
        row.GetDateTimeOffset("NextAttemptAt") ?? DateTimeOffset.MinValue,
        row.GetString("EhrId"),
        row.GetBoolean("Written") ?? false,
        row.GetInt32("LastStatus"),
        row.ETag)
    {
        Preferences = WriteBackStore.PreferencesOf(row),
        AppointmentReply = row.GetString("ResourceType") == WriteBackStore.AppointmentType ? row.GetString("Reply") : null,
    };
}
