using System.Collections.Frozen;
using System.Net;
using System.Text.Json;
using Azure;
using Engagement.Http;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Logging;

namespace Engagement.Fhir;

/// <summary>
/// The conformance resources the engine uses (<see cref="FhirResourceTypes.Definitions"/>): those shipped in
/// <c>fhir-profiles/*.json</c> beside the binaries, overridden by those added at run time (stored through
/// <see cref="IFhirResourceStore"/>, same type and id). Stored definitions are re-read every
/// <see cref="CacheLifetime"/>, so instances converge within that time; a write through <see cref="SaveAsync"/>
/// refreshes this instance at once. Returned resources are copies: callers may change them.
/// </summary>
public sealed class FhirDefinitions : IDisposable
{
    /// <summary>How long stored definitions are cached before this instance reads them again.</summary>
    public static readonly TimeSpan CacheLifetime = TimeSpan.FromSeconds(30);

    /// <summary>Read at most this many stored definitions of each type.</summary>
    public const int MaxStoredPerType = 1000;

    private const int SaveAttempts = 3;

    private readonly IFhirResourceStore store;
    private readonly TimeProvider time;
    private readonly ILogger<FhirDefinitions> logger;
    private readonly FrozenDictionary<(string Type, string Id), Resource> shipped;
    private readonly SemaphoreSlim refresh = new(1, 1);
    private volatile DefinitionSnapshot? current;

    public FhirDefinitions(IFhirResourceStore store, TimeProvider time, ILogger<FhirDefinitions> logger)
        : this(store, time, logger, Path.Combine(AppContext.BaseDirectory, "fhir-profiles"))
    {
    }

    /// <param name="profilesDirectory">The shipped package; <c>{ResourceType}-{id}.json</c> files of the definition types.</param>
    public FhirDefinitions(IFhirResourceStore store, TimeProvider time, ILogger<FhirDefinitions> logger, string profilesDirectory)
    {
        this.store = store ?? throw new ArgumentNullException(nameof(store));
        this.time = time ?? throw new ArgumentNullException(nameof(time));
        this.logger = logger ?? throw new ArgumentNullException(nameof(logger));
        shipped = LoadShipped(profilesDirectory ?? throw new ArgumentNullException(nameof(profilesDirectory)));
        logger.LogInformation("Loaded {Count} shipped FHIR definitions from {Directory}", shipped.Count, profilesDirectory);
    }

    /// <summary>Raised (on the thread that noticed) when the stored definitions changed: a save here, or a refresh that found new versions.</summary>
    public event EventHandler? Changed;

    /// <summary>The shipped definitions (type, id), for diagnostics and tests.</summary>
    public IReadOnlyCollection<(string Type, string Id)> ShippedKeys => shipped.Keys;

    /// <summary>A definition by type and id, or null.</summary>
    public async Task<Resource?> GetAsync(string resourceType, string id, CancellationToken cancellationToken) =>
        (await SnapshotAsync(cancellationToken)).Get(resourceType, id)?.DeepCopy() as Resource;

    /// <summary>A definition by canonical (<c>url</c> or <c>url|version</c>), or null.</summary>
    public async Task<T?> ResolveAsync<T>(string canonical, CancellationToken cancellationToken)
        where T : Resource =>
        (await SnapshotAsync(cancellationToken)).Resolve<T>(canonical)?.DeepCopy() as T;

    /// <summary>All definitions of a type (stored ones replacing shipped ones with the same id), ordered by id.</summary>
    public async Task<IReadOnlyList<Resource>> ListAsync(string resourceType, CancellationToken cancellationToken) =>
        [.. (await SnapshotAsync(cancellationToken)).OfType(resourceType).Select(r => (Resource)r.DeepCopy())];

    /// <summary>The current definitions, shared and read-only: do not modify the resources it returns.</summary>
    public async Task<DefinitionSnapshot> SnapshotAsync(CancellationToken cancellationToken)
    {
        var snapshot = current;
        if (snapshot is not null && time.GetUtcNow() - snapshot.LoadedAt < CacheLifetime)
        {
            return snapshot;
        }

        DefinitionSnapshot loaded;
        bool changed;
        await refresh.WaitAsync(cancellationToken);
        try
        {
            snapshot = current;
            if (snapshot is not null && time.GetUtcNow() - snapshot.LoadedAt < CacheLifetime)
            {
                return snapshot;
            }

            loaded = await LoadAsync(cancellationToken);
            current = loaded;
            changed = snapshot is not null && snapshot.StoredFingerprint != loaded.StoredFingerprint;
        }
        finally
        {
            refresh.Release();
        }

        if (changed)
        {
            Changed?.Invoke(this, EventArgs.Empty); // outside the lock: handlers may read the catalog
        }

        return loaded;
    }

    /// <summary>
    /// Stores a definition (already validated) and refreshes this instance's view. <paramref name="ifMatchVersion"/>
    /// (a meta.versionId) makes it conditional. <c>Existed</c> is true when the id was already readable (stored or shipped).
    /// </summary>
    public async Task<DefinitionSaveResult> SaveAsync(Resource resource, string? ifMatchVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resource);
        if (!FhirResourceTypes.Definitions.Contains(resource.TypeName) || string.IsNullOrEmpty(resource.Id))
        {
            throw new ArgumentException("A definition type with an id is required.", nameof(resource));
        }

        var isShipped = shipped.TryGetValue((resource.TypeName, resource.Id), out var shippedResource);
        for (var attempt = 1; ; attempt++)
        {
            var existing = await store.GetAsync(resource.TypeName, resource.Id, cancellationToken);
            if (ifMatchVersion is not null)
            {
                var currentVersion = existing?.Resource.Meta?.VersionId ?? shippedResource?.Meta?.VersionId;
                if (currentVersion != ifMatchVersion)
                {
                    return DefinitionSaveResult.PreconditionFailed(currentVersion);
                }
            }

            try
            {
                StoredResource stored;
                if (existing is null)
                {
                    var (created, wasCreated) = await store.CreateIfNotExistsAsync(resource, null, cancellationToken);
                    if (!wasCreated)
                    {
                        // Another writer created it first: read it and decide again.
                        if (attempt >= SaveAttempts)
                        {
                            return DefinitionSaveResult.Conflict();
                        }

                        continue;
                    }

                    stored = created;
                }
                else
                {
                    stored = await store.PutAsync(resource, null, cancellationToken, existing.ETag);
                }

                await InvalidateAsync(cancellationToken);
                logger.LogInformation("Stored definition {Type}/{Id} version {Version}", resource.TypeName, resource.Id, stored.Resource.Meta?.VersionId);
                return DefinitionSaveResult.Saved(stored.Resource, existing is not null || isShipped);
            }
            catch (RequestFailedException ex) when (ex.Status is (int)HttpStatusCode.PreconditionFailed or (int)HttpStatusCode.NotFound)
            {
                // Table Storage's optimistic concurrency: someone else wrote (or deleted) it between our read and write.
                if (ifMatchVersion is not null)
                {
                    return DefinitionSaveResult.PreconditionFailed(null);
                }

                if (attempt >= SaveAttempts)
                {
                    return DefinitionSaveResult.Conflict();
                }
            }
        }
    }

    public void Dispose() => refresh.Dispose();

    private async System.Threading.Tasks.Task InvalidateAsync(CancellationToken cancellationToken)
    {
        await refresh.WaitAsync(cancellationToken);
        try
        {
            current = await LoadAsync(cancellationToken);
        }
        finally
        {
            refresh.Release();
        }

        Changed?.Invoke(this, EventArgs.Empty);
    }

    private async Task<DefinitionSnapshot> LoadAsync(CancellationToken cancellationToken)
    {
        var lists = await System.Threading.Tasks.Task.WhenAll(FhirResourceTypes.Definitions
            .Select(type => store.ListAsync(type, MaxStoredPerType, cancellationToken)));
        var stored = lists.SelectMany(list => list).Select(s => s.Resource).ToList();
        return new DefinitionSnapshot(shipped, stored, time.GetUtcNow());
    }

    private FrozenDictionary<(string Type, string Id), Resource> LoadShipped(string directory)
    {
        var result = new Dictionary<(string, string), Resource>();
        if (!Directory.Exists(directory))
        {
            logger.LogWarning("No shipped FHIR definitions: {Directory} does not exist", directory);
            return result.ToFrozenDictionary();
        }

        foreach (var file in Directory.EnumerateFiles(directory, "*.json").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileNameWithoutExtension(file);
            var type = name.Split('-', 2)[0];
            if (!FhirResourceTypes.Definitions.Contains(type))
            {
                continue;
            }

            // A broken shipped file is a build defect: fail at start rather than serve without it.
            var resource = JsonSerializer.Deserialize<Resource>(File.ReadAllText(file), FhirJson.Options)
                ?? throw new InvalidOperationException($"{file} is empty.");
            if (resource.TypeName != type || string.IsNullOrEmpty(resource.Id))
            {
                throw new InvalidOperationException($"{file} must hold a {type} with an id.");
            }

            result[(resource.TypeName, resource.Id)] = resource;
        }

        return result.ToFrozenDictionary();
    }
}

/// <summary>The canonical url and version of the definition types.</summary>
public static class Canonicals
{
    public static (string? Url, string? Version) Of(Resource resource) => resource switch
    {
        Questionnaire r => (r.Url, r.Version),
        PlanDefinition r => (r.Url, r.Version),
        ActivityDefinition r => (r.Url, r.Version),
        ValueSet r => (r.Url, r.Version),
        CodeSystem r => (r.Url, r.Version),
        Measure r => (r.Url, r.Version),
        StructureDefinition r => (r.Url, r.Version),
        _ => (null, null),
    };
}

/// <summary>The outcome of <see cref="FhirDefinitions.SaveAsync"/>.</summary>
public sealed record DefinitionSaveResult(DefinitionSaveStatus Status, Resource? Resource, bool Existed, string? CurrentVersion)
{
    public static DefinitionSaveResult Saved(Resource resource, bool existed) => new(DefinitionSaveStatus.Saved, resource, existed, resource.Meta?.VersionId);

    public static DefinitionSaveResult PreconditionFailed(string? currentVersion) => new(DefinitionSaveStatus.PreconditionFailed, null, true, currentVersion);

    public static DefinitionSaveResult Conflict() => new(DefinitionSaveStatus.Conflict, null, true, null);
}

public enum DefinitionSaveStatus
{
    Saved,

    /// <summary>If-Match named another version (or none exists).</summary>
    PreconditionFailed,

    /// <summary>Concurrent writers kept winning; try again.</summary>
    Conflict,
}

/// <summary>An immutable view of the definitions at one moment: shipped ones overridden by stored ones with the same type and id.</summary>
public sealed class DefinitionSnapshot
{
    private readonly FrozenDictionary<(string Type, string Id), Resource> byId;
    private readonly FrozenDictionary<string, Resource[]> byUrl;

    internal DefinitionSnapshot(IReadOnlyDictionary<(string Type, string Id), Resource> shipped, IReadOnlyList<Resource> stored, DateTimeOffset loadedAt)
    {
        LoadedAt = loadedAt;
        var merged = new Dictionary<(string, string), Resource>(shipped);
        var storedKeys = new HashSet<(string, string)>();
        foreach (var resource in stored)
        {
            merged[(resource.TypeName, resource.Id!)] = resource;
            storedKeys.Add((resource.TypeName, resource.Id!));
        }

        byId = merged.ToFrozenDictionary();
        // Several resources may share a url (versions, languages): a stored one first, then the latest version.
        byUrl = merged
            .Where(kv => CanonicalUrl(kv.Value) is not null)
            .GroupBy(kv => CanonicalUrl(kv.Value)!, StringComparer.Ordinal)
            .ToFrozenDictionary(
                g => g.Key,
                g => g.OrderByDescending(kv => storedKeys.Contains(kv.Key))
                    .ThenByDescending(kv => CanonicalVersion(kv.Value), VersionComparer.Instance)
                    .ThenBy(kv => kv.Key.Item2, StringComparer.Ordinal)
                    .Select(kv => kv.Value)
                    .ToArray(),
                StringComparer.Ordinal);
        StoredFingerprint = string.Join('\n', stored
            .Select(r => $"{r.TypeName}/{r.Id}/{r.Meta?.VersionId}/{r.Meta?.LastUpdated?.UtcTicks}")
            .Order(StringComparer.Ordinal));
    }

    public DateTimeOffset LoadedAt { get; }

    internal string StoredFingerprint { get; }

    public Resource? Get(string resourceType, string id) => byId.GetValueOrDefault((resourceType, id));

    public IEnumerable<Resource> OfType(string resourceType) =>
        byId.Where(kv => kv.Key.Type == resourceType).OrderBy(kv => kv.Key.Id, StringComparer.Ordinal).Select(kv => kv.Value);

    /// <summary>Resolves <c>url</c> or <c>url|version</c> to a resource of type <typeparamref name="T"/>.</summary>
    public T? Resolve<T>(string canonical)
        where T : Resource
    {
        ArgumentNullException.ThrowIfNull(canonical);
        var bar = canonical.IndexOf('|', StringComparison.Ordinal);
        var url = bar < 0 ? canonical : canonical[..bar];
        var version = bar < 0 ? null : canonical[(bar + 1)..];
        return byUrl.TryGetValue(url, out var candidates)
            ? candidates.OfType<T>().FirstOrDefault(r => version is null || CanonicalVersion(r) == version)
            : null;
    }

    private static string? CanonicalUrl(Resource resource) => Canonicals.Of(resource).Url;

    private static string? CanonicalVersion(Resource resource) => Canonicals.Of(resource).Version;

    /// <summary>Orders versions numerically by dot-separated parts where they are numbers (1.10.0 after 1.9.0).</summary>
    private sealed class VersionComparer : IComparer<string?>
    {
        public static readonly VersionComparer Instance = new();

        public int Compare(string? x, string? y)
        {
            if (x is null || y is null)
            {
                return (x is null ? 0 : 1) - (y is null ? 0 : 1);
            }

            var a = x.Split('.');
            var b = y.Split('.');
            for (var i = 0; i < Math.Min(a.Length, b.Length); i++)
            {
                var c = int.TryParse(a[i], out var na) && int.TryParse(b[i], out var nb)
                    ? na.CompareTo(nb)
                    : string.CompareOrdinal(a[i], b[i]);
                if (c != 0)
                {
                    return c;
                }
            }

            return a.Length.CompareTo(b.Length);
        }
    }
}
