namespace Engagement.Fhir;

/// <summary>
/// Told after a resource is stored through the store every feature writes through (<see cref="IFhirResourceStore"/>),
/// in the same step: a failure fails the caller's step, which is re-run and tells again — so an observer must be
/// idempotent. Measures use it to record a care-team Task's acknowledgement when the Task changes.
/// </summary>
public interface IFhirResourceObserver
{
    Task StoredAsync(StoredResource stored, CancellationToken cancellationToken);
}
