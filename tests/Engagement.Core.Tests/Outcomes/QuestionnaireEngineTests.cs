using Engagement.Outcomes;
using Hl7.Fhir.Model;
using Xunit;
using static Engagement.Tests.Outcomes.Build;

namespace Engagement.Tests.Outcomes;

public class QuestionnaireEngineTests
{
    private readonly QuestionnaireEngine _engine = new();

    [Fact]
    public void Valid_phq9_response_is_validated_scored_banded_and_flag_checked()
    {
        var result = _engine.Process(Fhir.Shipped("phq-9"), Fhir.Fixture<QuestionnaireResponse>("QuestionnaireResponse-phq-9-moderate.json"));

        Assert.True(result.IsValid);
        Assert.Equal(11m, result.TotalScore);
        Assert.Equal("moderate", result.Band);
        Assert.NotNull(result.Scored);
    }

    [Fact]
    public void Invalid_response_is_neither_scored_nor_flagged()
    {
        var response = Phq9(3, 3, 3, 3, 3, 3, 3, 3); // item 9 missing, but required

        var result = _engine.Process(Fhir.Shipped("phq-9"), response);

        Assert.False(result.IsValid);
        Assert.Null(result.Scored);
        Assert.Null(result.TotalScore);
        Assert.Empty(result.RedFlags);
        Fhir.AssertError(result.Outcome, OperationOutcome.IssueType.Required, "QuestionnaireResponse");
    }

    [Fact]
    public void Concurrent_processing_of_one_questionnaire_gives_the_same_results()
    {
        var questionnaire = Fhir.Shipped("phq-9");
        var totals = new decimal?[64];

        Parallel.For(0, totals.Length, i => totals[i] = _engine.Process(questionnaire, Phq9(i % 4, i % 4, i % 4, i % 4, i % 4, i % 4, i % 4, i % 4, i % 4)).TotalScore);

        for (var i = 0; i < totals.Length; i++)
        {
            Assert.Equal(9 * (i % 4), totals[i]);
        }
    }

    [Fact]
    public void Questionnaire_with_an_expression_that_does_not_compile_fails_loudly()
    {
        var q = Form(Item("a", Questionnaire.QuestionnaireItemType.Integer, i => i.Extension.Add(Expression(OutcomeUrls.CalculatedExpression, "item.where(("))));

        var error = Assert.Throws<InvalidOperationException>(() => _engine.Process(q, Response()));
        Assert.Contains("'a'", error.Message, StringComparison.Ordinal);
    }
}
