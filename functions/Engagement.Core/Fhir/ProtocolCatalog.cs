using Engagement.FollowUp;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Logging;

namespace Engagement.Fhir;

/// <summary>The follow-up protocols the engine matches triggers against: shipped and run-time PlanDefinitions.</summary>
public interface IProtocolCatalog
{
    /// <summary>
    /// The current protocols, read from every PlanDefinition in <see cref="FhirDefinitions"/> (stored ones replacing
    /// shipped ones with the same id), ActivityDefinitions resolved from the same catalog. Retired plans and plans
    /// that do not read as protocols are left out (and logged). Within <see cref="FhirDefinitions.CacheLifetime"/>
    /// of a change on another instance; at once after a PUT on this one.
    /// </summary>
    Task<IReadOnlyList<ProtocolDefinition>> GetProtocolsAsync(CancellationToken cancellationToken);
}

/// <summary>Builds protocols once per definitions snapshot (reading a plan compiles its FHIRPath).</summary>
public sealed class ProtocolCatalog(FhirDefinitions definitions, ILogger<ProtocolCatalog> logger) : IProtocolCatalog
{
    private volatile Built? built;

    public async Task<IReadOnlyList<ProtocolDefinition>> GetProtocolsAsync(CancellationToken cancellationToken)
    {
        var snapshot = await definitions.SnapshotAsync(cancellationToken);
        var last = built;
        if (last is not null && ReferenceEquals(last.Snapshot, snapshot))
        {
            return last.Protocols;
        }

        var protocols = new List<ProtocolDefinition>();
        foreach (var plan in snapshot.OfType("PlanDefinition").Cast<PlanDefinition>())
        {
            if (plan.Status == PublicationStatus.Retired)
            {
                continue;
            }

            var read = ProtocolDefinition.FromPlanDefinition(plan, snapshot.Resolve<ActivityDefinition>);
            if (read.Protocol is { } protocol)
            {
                protocols.Add(protocol);
            }
            else
            {
                logger.LogWarning("PlanDefinition {Id} is not a usable protocol ({Problems} problems); it is left out", plan.Id, read.Outcome.Issue.Count);
            }
        }

        built = new Built(snapshot, protocols);
        return protocols;
    }

    private sealed record Built(DefinitionSnapshot Snapshot, IReadOnlyList<ProtocolDefinition> Protocols);
}
