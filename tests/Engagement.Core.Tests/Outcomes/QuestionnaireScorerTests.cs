using Engagement.Outcomes;
using Hl7.Fhir.Model;
using Xunit;
using static Engagement.Tests.Outcomes.Build;
using ItemType = Hl7.Fhir.Model.Questionnaire.QuestionnaireItemType;

namespace Engagement.Tests.Outcomes;

public class QuestionnaireScorerTests
{
    private readonly QuestionnaireScorer _scorer = new();

    private static DataType? AnswerOf(QuestionnaireResponse response, string linkId) =>
        Assert.Single(response.Item, i => i.LinkId == linkId).Answer.SingleOrDefault()?.Value;

    [Theory]
    [InlineData(new[] { 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 0, "minimal")]
    [InlineData(new[] { 3, 3, 3, 3, 3, 3, 3, 3, 3 }, 27, "severe")]
    [InlineData(new[] { 1, 2, 1, 1, 2, 1, 1, 2, 0 }, 11, "moderate")]
    [InlineData(new[] { 1, 1, 1, 1, 1, 0, 0, 0, 0 }, 5, "mild")]
    [InlineData(new[] { 2, 2, 2, 2, 2, 2, 2, 1, 0 }, 15, "moderately-severe")]
    public void Phq9_total_is_computed_by_the_calculatedExpression_with_its_band(int[] scores, int total, string band)
    {
        var result = _scorer.Score(Fhir.Shipped("phq-9"), Phq9(scores));

        Assert.Equal(total, result.TotalScore);
        Assert.Equal(band, result.Band);
        Assert.Equal(total, Assert.IsType<Integer>(AnswerOf(result.Scored, "phq9-total")).Value);
    }

    [Fact]
    public void Phq9_fixture_scores_11_and_the_clients_total_is_overwritten()
    {
        var response = Fhir.Fixture<QuestionnaireResponse>("QuestionnaireResponse-phq-9-moderate.json");
        response.Item.Single(i => i.LinkId == "phq9-total").Answer[0].Value = new Integer(99);

        var result = _scorer.Score(Fhir.Shipped("phq-9"), response);

        Assert.Equal(11m, result.TotalScore);
        Assert.Equal(11, Assert.IsType<Integer>(AnswerOf(result.Scored, "phq9-total")).Value);
        Assert.Equal(99, Assert.IsType<Integer>(response.Item.Single(i => i.LinkId == "phq9-total").Answer[0].Value).Value); // input untouched
    }

    [Fact]
    public void Missing_total_item_is_added_after_the_last_question()
    {
        var result = _scorer.Score(Fhir.Shipped("phq-9"), Phq9(1, 1, 1, 1, 1, 1, 1, 1, 1));

        Assert.Equal("phq9-total", result.Scored.Item[^1].LinkId);
        Assert.Equal(9, Assert.IsType<Integer>(result.Scored.Item[^1].Answer[0].Value).Value);
    }

    [Fact]
    public void Gad7_shipped_questionnaire_scores_and_bands()
    {
        var result = _scorer.Score(Fhir.Shipped("gad-7"), Gad7(3, 3, 2, 2, 2, 2, 2));

        Assert.Equal(16m, result.TotalScore);
        Assert.Equal("severe", result.Band);
    }

    [Fact]
    public void Unseen_lhc_forms_questionnaire_is_scored_by_the_sum_of_ordinal_values()
    {
        var questionnaire = Fhir.Fixture<Questionnaire>("Questionnaire-lhc-gad-7.json");
        var response = Fhir.Fixture<QuestionnaireResponse>("QuestionnaireResponse-lhc-gad-7.json");

        var result = _scorer.Score(questionnaire, response);

        Assert.Equal(16m, result.TotalScore);
        Assert.Equal("severe", result.Band); // from the shipped table keyed by LOINC 70274-6
        Assert.Equal(16m, Assert.IsType<FhirDecimal>(AnswerOf(result.Scored, "/70274-6")).Value);
    }

    [Fact]
    public void Unseen_lhc_forms_response_is_valid_against_its_questionnaire()
    {
        var outcome = new QuestionnaireResponseValidator().Validate(
            Fhir.Fixture<Questionnaire>("Questionnaire-lhc-gad-7.json"), Fhir.Fixture<QuestionnaireResponse>("QuestionnaireResponse-lhc-gad-7.json"));

        Fhir.AssertValid(outcome);
    }

    [Fact]
    public void Item_without_a_known_total_code_is_not_summed()
    {
        var q = Form(
            Item("a", ItemType.Choice, i => i.AnswerOption = [Option(Loinc("LA6569-3"), 1)]),
            Item("sum", ItemType.Integer, i => i.Code = [Loinc("99999-9")]));

        var result = _scorer.Score(q, Response(Answer("a", Loinc("LA6569-3")), Answer("sum", new Integer(5))));

        Assert.Null(result.TotalScore);
        Assert.Equal(5, Assert.IsType<Integer>(AnswerOf(result.Scored, "sum")).Value);
    }

    [Fact]
    public void ItemWeight_on_answer_options_counts_like_ordinalValue()
    {
        var q = Form(
            Item("a", ItemType.Choice, i => i.AnswerOption = [Option(Loinc("LA6568-5"), 0, OutcomeUrls.ItemWeight), Option(Loinc("LA6571-9"), 2.5m, OutcomeUrls.ItemWeight)]),
            Item("b", ItemType.Choice, i => i.AnswerOption = [Option(Loinc("LA6571-9"), 3)]),
            Item("total", ItemType.Decimal, i => i.Code = [Loinc("44261-6")]));

        var result = _scorer.Score(q, Response(Answer("a", Loinc("LA6571-9")), Answer("b", Loinc("LA6571-9"))));

        Assert.Equal(5.5m, result.TotalScore);
    }

    [Fact]
    public void Code_only_options_take_their_weight_from_the_CodeSystem_concept_property()
    {
        const string system = "http://example.org/CodeSystem/frequency";
        var codeSystem = new CodeSystem
        {
            Url = system,
            Concept =
            [
                new CodeSystem.ConceptDefinitionComponent { Code = "never", Property = [new CodeSystem.ConceptPropertyComponent { Code = "itemWeight", Value = new FhirDecimal(0) }] },
                new CodeSystem.ConceptDefinitionComponent { Code = "often", Property = [new CodeSystem.ConceptPropertyComponent { Code = "itemWeight", Value = new FhirDecimal(2) }] },
            ],
        };
        var q = Form(
            Item("a", ItemType.Choice, i => i.AnswerOption = [Option(new Coding(system, "never")), Option(new Coding(system, "often"))]),
            Item("b", ItemType.Choice, i => i.AnswerOption = [Option(new Coding(system, "never")), Option(new Coding(system, "often"))]),
            Item("total", ItemType.Integer, i => i.Code = [Loinc("70274-6")]));
        var response = Response(Answer("a", new Coding(system, "often")), Answer("b", new Coding(system, "often")));

        Assert.Equal(4m, new QuestionnaireScorer(new InMemoryTerminology([codeSystem])).Score(q, response).TotalScore);
        Assert.Equal(0m, _scorer.Score(q, response).TotalScore); // no resolver, no weights
    }

    [Fact]
    public void CalculatedExpression_sees_variables_resource_and_questionnaire()
    {
        var q = Form(
            Item("weight", ItemType.Decimal),
            Item("height", ItemType.Decimal),
            Item("bmi", ItemType.Decimal, i =>
            {
                i.Extension.Add(Expression(OutcomeUrls.Variable, "%resource.item.where(linkId = 'height').answer.value", "h"));
                i.Extension.Add(Expression(OutcomeUrls.CalculatedExpression, "(%w / (%h * %h)).round(1) + %questionnaire.item.where(linkId = 'bonus').count()"));
            }));
        q.Extension.Add(Expression(OutcomeUrls.Variable, "%resource.item.where(linkId = 'weight').answer.value", "w"));

        var result = _scorer.Score(q, Response(Answer("weight", new FhirDecimal(80m)), Answer("height", new FhirDecimal(2m))));

        Assert.Equal(20m, Assert.IsType<FhirDecimal>(AnswerOf(result.Scored, "bmi")).Value);
        Assert.Equal(20m, result.TotalScore); // the first calculated number is the score when no known code is present
    }

    [Fact]
    public void ReadOnly_item_without_expression_gets_its_initial_value_not_the_clients()
    {
        var q = Form(
            Item("a", ItemType.Integer),
            Item("version", ItemType.String, i =>
            {
                i.ReadOnly = true;
                i.Initial = [new Questionnaire.InitialComponent { Value = new FhirString("v1") }];
            }));

        var result = _scorer.Score(q, Response(Answer("a", new Integer(1)), Answer("version", new FhirString("forged"))));

        Assert.Equal("v1", Assert.IsType<FhirString>(AnswerOf(result.Scored, "version")).Value);
    }

    [Fact]
    public void Score_band_extensions_on_the_item_win_over_the_shipped_table()
    {
        var q = Form(
            Item("a", ItemType.Choice, i => i.AnswerOption = [Option(Loinc("LA6571-9"), 3)]),
            Item("total", ItemType.Integer, i =>
            {
                i.Code = [Loinc("44261-6")];
                i.Extension.Add(new Extension
                {
                    Url = OutcomeUrls.ScoreBand,
                    Extension =
                    [
                        new Extension("low", new FhirDecimal(0)),
                        new Extension("high", new FhirDecimal(2)),
                        new Extension("code", new Coding(OutcomeUrls.CanonicalBase + "/CodeSystem/severity-band", "low")),
                    ],
                });
                i.Extension.Add(new Extension
                {
                    Url = OutcomeUrls.ScoreBand,
                    Extension = [new Extension("low", new FhirDecimal(3)), new Extension("code", new Coding(OutcomeUrls.CanonicalBase + "/CodeSystem/severity-band", "high"))],
                });
            }));

        var result = _scorer.Score(q, Response(Answer("a", Loinc("LA6571-9"))));

        Assert.Equal(3m, result.TotalScore);
        Assert.Equal("high", result.Band);
    }

    [Fact]
    public void Checkin_has_no_total_score()
    {
        var result = _scorer.Score(Fhir.Shipped("post-discharge-checkin"), Response(Answer("pain", new Integer(4))));

        Assert.Null(result.TotalScore);
        Assert.Null(result.Band);
    }
}
