using System.Collections.Concurrent;
using Firely.Fhir.Validation;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Hl7.Fhir.Specification.Source;
using Hl7.Fhir.Specification.Terminology;

namespace Engagement.Testing;

/// <summary>
/// Validates FHIR R4 resources with the Firely validator against the R4 core definitions
/// (Hl7.Fhir.Specification.Data.R4) plus every conformance resource shipped in <c>fhir-profiles/</c>
/// (snapshots generated on the fly). Use <see cref="Shared"/> in tests: loading the core
/// definitions takes seconds, so one instance is shared per test run. Safe to call from parallel tests
/// (validations are serialized).
/// </summary>
/// <remarks>
/// Extensions and profiles that cannot be resolved are errors, with one documented exception:
/// definitions published by the HL7 Subscriptions R5 Backport IG (its own extensions and profiles, and the
/// R5 cross-version <c>http://hl7.org/fhir/5.0/StructureDefinition/extension-*</c> extensions it uses) are
/// not available offline. When <see cref="ValidationOptions.AllowUnresolvedBackportDefinitions"/> is set,
/// those (and only those) are left unresolved with a warning; everything else is still validated in full.
/// </remarks>
public sealed class ProfileValidator
{
    /// <summary>The canonical base of everything we define.</summary>
    public const string CanonicalBase = "http://engagement-functions.org/fhir";

    /// <summary>Canonical prefixes of the Subscriptions Backport IG definitions we cannot resolve offline.</summary>
    public static readonly IReadOnlyList<string> BackportDefinitionPrefixes =
    [
        "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/",
        "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic",
    ];

    private static readonly Lazy<ProfileValidator> SharedInstance =
        new(() => new ProfileValidator(PackageFiles.FindPackageDirectory()), LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly CachedResolver _resolver;
    private readonly ICodeValidationTerminologyService _terminology;
    private readonly ConcurrentDictionary<bool, Validator> _validators = new();
    private readonly Lock _gate = new();

    /// <summary>A validator over the <c>fhir-profiles/</c> package found above the test's output directory.</summary>
    public static ProfileValidator Shared => SharedInstance.Value;

    /// <summary>Builds a validator over the conformance resources in <paramref name="packageDirectory"/>.</summary>
    public ProfileValidator(string packageDirectory)
    {
        PackageDirectory = packageDirectory;
        PackageResources = PackageFiles.Load(packageDirectory)
            .Where(f => f.Resource is not null)
            .Select(f => f.Resource!)
            .ToList();

        var ours = new InMemoryResourceResolver(PackageResources.Where(r => r is IConformanceResource));
        var core = ZipSource.CreateValidationSource(Path.Combine(AppContext.BaseDirectory, "specification.zip"));
        _resolver = new CachedResolver(new SnapshotSource(new MultiResolver(ours, core)));
        _terminology = new LocalTerminologyService(_resolver);

        // Generate our snapshots once, up front: the snapshot generator is not safe for concurrent use.
        foreach (var definition in PackageResources.OfType<StructureDefinition>().Where(d => d.Url is not null))
        {
            Resolve(definition.Url!);
        }
    }

    /// <summary>The folder holding the package (<c>fhir-profiles/</c>).</summary>
    public string PackageDirectory { get; }

    /// <summary>Every resource parsed from the package folder.</summary>
    public IReadOnlyList<Resource> PackageResources { get; }

    /// <summary>Resolves a canonical (ours or core), with its snapshot generated.</summary>
    public Resource? Resolve(string canonical)
    {
        lock (_gate)
        {
            var result = _resolver.TryResolveByCanonicalUriAsync(canonical).GetAwaiter().GetResult();
            return result.Success ? result.Value : null;
        }
    }

    /// <summary>
    /// Validates <paramref name="resource"/> against <paramref name="profileUrl"/>, or, when null, against its
    /// <c>meta.profile</c> (and always against the core definition of its type).
    /// </summary>
    public FhirValidationResult Validate(Resource resource, string? profileUrl = null, ValidationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(resource);
        options ??= ValidationOptions.Strict;
        OperationOutcome outcome;
        lock (_gate)
        {
            // xunit runs test classes in parallel; the resolver's snapshot generation and caches are not thread-safe.
            var validator = _validators.GetOrAdd(options.AllowUnresolvedBackportDefinitions, CreateValidator);
            outcome = validator.Validate(resource, profileUrl);
        }

        KnownDeviations.Apply(outcome, resource, options);
        return new FhirValidationResult(outcome);
    }

    /// <summary>Parses <paramref name="json"/> (FHIR R4 JSON) and validates it; a parse failure is reported as an error.</summary>
    public FhirValidationResult Validate(string json, string? profileUrl = null, ValidationOptions? options = null)
    {
        if (!PackageFiles.TryParse(json, out var resource, out var parseError))
        {
            var outcome = new OperationOutcome();
            outcome.Issue.Add(new OperationOutcome.IssueComponent
            {
                Severity = OperationOutcome.IssueSeverity.Fatal,
                Code = OperationOutcome.IssueType.Structure,
                Diagnostics = parseError,
            });
            return new FhirValidationResult(outcome);
        }

        return Validate(resource!, profileUrl, options);
    }

    private Validator CreateValidator(bool allowBackport)
    {
        var settings = new ValidationSettings
        {
            FollowExtensionUrl = (_, url) =>
                allowBackport && IsBackportDefinition(url?.ToString())
                    ? ExtensionUrlHandling.WarnIfMissing
                    : ExtensionUrlHandling.ErrorIfMissing,
        };
        return new Validator(_resolver, _terminology, null, settings);
    }

    private static bool IsBackportDefinition(string? url) =>
        url is not null && BackportDefinitionPrefixes.Any(p => url.StartsWith(p, StringComparison.Ordinal));
}

/// <summary>How lenient validation is about definitions we cannot resolve offline.</summary>
public sealed record ValidationOptions
{
    /// <summary>Every extension and profile must resolve.</summary>
    public static ValidationOptions Strict { get; } = new();

    /// <summary>For R4 backport SubscriptionTopics (Basic) and Subscriptions only: see <see cref="ProfileValidator"/>.</summary>
    public static ValidationOptions SubscriptionsBackport { get; } = new() { AllowUnresolvedBackportDefinitions = true };

    /// <summary>Leave Subscriptions Backport IG extensions and profiles unresolved (warning), not an error.</summary>
    public bool AllowUnresolvedBackportDefinitions { get; init; }
}

/// <summary>The outcome of one validation, with the issues as readable lines.</summary>
public sealed class FhirValidationResult(OperationOutcome outcome)
{
    /// <summary>The validator's OperationOutcome.</summary>
    public OperationOutcome Outcome { get; } = outcome;

    /// <summary>Fatal and error issues as <c>location: message</c>.</summary>
    public IReadOnlyList<string> Errors => Lines(OperationOutcome.IssueSeverity.Fatal, OperationOutcome.IssueSeverity.Error);

    /// <summary>Warning issues as <c>location: message</c>.</summary>
    public IReadOnlyList<string> Warnings => Lines(OperationOutcome.IssueSeverity.Warning);

    /// <summary>True when there is no fatal or error issue.</summary>
    public bool IsValid => Errors.Count == 0;

    private List<string> Lines(params OperationOutcome.IssueSeverity[] severities) =>
        Outcome.Issue
            .Where(i => i.Severity is { } s && severities.Contains(s))
            .Select(i => $"{string.Join(",", i.Expression.Any() ? i.Expression : i.Location)}: {i.Details?.Text ?? i.Diagnostics}")
            .ToList();

    /// <inheritdoc />
    public override string ToString() => string.Join(Environment.NewLine, Errors.Concat(Warnings.Select(w => "warning " + w)));
}
