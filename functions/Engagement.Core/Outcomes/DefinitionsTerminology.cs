using Engagement.Fhir;
using Hl7.Fhir.Model;

namespace Engagement.Outcomes;

/// <summary>ValueSets and CodeSystems for the questionnaire engine, from the definitions catalog (shipped + PUT).</summary>
public sealed class DefinitionsTerminology(FhirDefinitions definitions) : IValueSetResolver, ICodeSystemResolver
{
    private volatile DefinitionSnapshot? snapshot;

    /// <summary>Takes the catalog's current snapshot; call before processing a response.</summary>
    public async Task<DefinitionSnapshot> RefreshAsync(CancellationToken cancellationToken) =>
        snapshot = await definitions.SnapshotAsync(cancellationToken);

    public ValueSet? ResolveValueSet(string canonical) => snapshot?.Resolve<ValueSet>(canonical);

    public CodeSystem? ResolveCodeSystem(string url) => snapshot?.Resolve<CodeSystem>(url);
}
