using Engagement.FollowUp;
using Hl7.Fhir.Model;

namespace Engagement.Fhir;

/// <summary>
/// What a definition must satisfy before it is stored (a 422 lists every problem with its FHIRPath):
/// a PlanDefinition must read as a protocol (<see cref="ProtocolDefinition.FromPlanDefinition"/>, ActivityDefinitions
/// resolved against the catalog); a Questionnaire needs url, status and items whose linkIds are present and unique;
/// a ValueSet needs url and a compose (with an include) or an expansion.
/// </summary>
public static class DefinitionValidator
{
    /// <summary>The problems found (errors make it unusable), or an outcome with none.</summary>
    public static OperationOutcome Validate(Resource resource, DefinitionSnapshot definitions)
    {
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(definitions);
        return resource switch
        {
            PlanDefinition plan => ProtocolDefinition.FromPlanDefinition(plan, definitions.Resolve<ActivityDefinition>).Outcome,
            Questionnaire questionnaire => ValidateQuestionnaire(questionnaire),
            ValueSet valueSet => ValidateValueSet(valueSet),
            _ => new OperationOutcome(),
        };
    }

    public static bool HasErrors(OperationOutcome outcome) =>
        outcome?.Issue.Any(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal) ?? false;

    private static OperationOutcome ValidateQuestionnaire(Questionnaire questionnaire)
    {
        var outcome = new OperationOutcome();
        if (string.IsNullOrWhiteSpace(questionnaire.Url))
        {
            Required(outcome, "Questionnaire.url", "A Questionnaire needs a canonical url.");
        }

        if (questionnaire.StatusElement?.Value is null)
        {
            Required(outcome, "Questionnaire.status", "A Questionnaire needs a status.");
        }

        if (questionnaire.Item.Count == 0)
        {
            Required(outcome, "Questionnaire.item", "A Questionnaire needs at least one item.");
        }

        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        CheckItems(outcome, questionnaire.Item, "Questionnaire", seen);
        return outcome;
    }

    private static void CheckItems(OperationOutcome outcome, List<Questionnaire.ItemComponent> items, string parentPath, Dictionary<string, string> seen)
    {
        for (var i = 0; i < items.Count; i++)
        {
            var path = $"{parentPath}.item[{i}]";
            var linkId = items[i].LinkId;
            if (string.IsNullOrWhiteSpace(linkId))
            {
                Required(outcome, $"{path}.linkId", "Every item needs a linkId.");
            }
            else if (seen.TryGetValue(linkId, out var first))
            {
                Add(outcome, OperationOutcome.IssueType.Duplicate, $"{path}.linkId", $"linkId '{linkId}' is already used by {first}; linkIds must be unique.");
            }
            else
            {
                seen[linkId] = path;
            }

            CheckItems(outcome, items[i].Item, path, seen);
        }
    }

    private static OperationOutcome ValidateValueSet(ValueSet valueSet)
    {
        var outcome = new OperationOutcome();
        if (string.IsNullOrWhiteSpace(valueSet.Url))
        {
            Required(outcome, "ValueSet.url", "A ValueSet needs a canonical url.");
        }

        if (valueSet.Expansion is null && (valueSet.Compose is null || valueSet.Compose.Include.Count == 0))
        {
            Required(outcome, "ValueSet.compose", "A ValueSet needs a compose with at least one include, or an expansion.");
        }

        return outcome;
    }

    private static void Required(OperationOutcome outcome, string expression, string message) =>
        Add(outcome, OperationOutcome.IssueType.Required, expression, message);

    private static void Add(OperationOutcome outcome, OperationOutcome.IssueType code, string expression, string message) =>
        outcome.Issue.Add(new OperationOutcome.IssueComponent
        {
            Severity = OperationOutcome.IssueSeverity.Error,
            Code = code,
            Diagnostics = message,
            Expression = [expression],
        });
}
