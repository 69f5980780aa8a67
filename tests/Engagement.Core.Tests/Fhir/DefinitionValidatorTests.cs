using Engagement.Core.Tests.FollowUp;
using Engagement.Fhir;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Task = System.Threading.Tasks.Task;

namespace Engagement.Core.Tests.Fhir;

public sealed class DefinitionValidatorTests
{
    private static async Task<DefinitionSnapshot> ShippedAsync()
    {
        using var definitions = new FhirDefinitions(new InMemoryFhirResourceStore(new FakeTimeProvider()), new FakeTimeProvider(), NullLogger<FhirDefinitions>.Instance, FollowUpFixtures.ProfilesDirectory);
        return await definitions.SnapshotAsync(CancellationToken.None);
    }

    private static List<string> ErrorExpressions(OperationOutcome outcome) =>
        [.. outcome.Issue.Where(i => i.Severity == OperationOutcome.IssueSeverity.Error).SelectMany(i => i.Expression).OfType<string>()];

    [Fact]
    public async Task Shipped_plan_definitions_are_valid()
    {
        var snapshot = await ShippedAsync();
        foreach (var plan in snapshot.OfType("PlanDefinition"))
        {
            Assert.False(DefinitionValidator.HasErrors(DefinitionValidator.Validate(plan, snapshot)), plan.Id);
        }
    }

    [Fact]
    public async Task A_questionnaire_lists_missing_url_status_and_linkIds_and_duplicates_at_any_depth()
    {
        var questionnaire = new Questionnaire
        {
            Item =
            [
                new Questionnaire.ItemComponent { LinkId = "a", Type = Questionnaire.QuestionnaireItemType.Group, Item = [new Questionnaire.ItemComponent { LinkId = "a", Type = Questionnaire.QuestionnaireItemType.String }] },
                new Questionnaire.ItemComponent { Type = Questionnaire.QuestionnaireItemType.String },
            ],
        };

        var expressions = ErrorExpressions(DefinitionValidator.Validate(questionnaire, await ShippedAsync()));

        Assert.Equal(["Questionnaire.url", "Questionnaire.status", "Questionnaire.item[0].item[0].linkId", "Questionnaire.item[1].linkId"], expressions);
    }

    [Fact]
    public async Task A_questionnaire_needs_items()
    {
        var questionnaire = new Questionnaire { Url = "http://example.org/q", Status = PublicationStatus.Draft };
        Assert.Equal(["Questionnaire.item"], ErrorExpressions(DefinitionValidator.Validate(questionnaire, await ShippedAsync())));
    }

    [Fact]
    public async Task A_value_set_with_an_expansion_and_no_compose_is_valid()
    {
        var valueSet = new ValueSet { Url = "http://example.org/vs", Status = PublicationStatus.Active, Expansion = new ValueSet.ExpansionComponent { Timestamp = "2026-01-01" } };
        Assert.False(DefinitionValidator.HasErrors(DefinitionValidator.Validate(valueSet, await ShippedAsync())));
        valueSet.Expansion = null;
        Assert.Equal(["ValueSet.compose"], ErrorExpressions(DefinitionValidator.Validate(valueSet, await ShippedAsync())));
    }
}
