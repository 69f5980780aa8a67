using Engagement.Outcomes;
using Hl7.Fhir.Model;
using Xunit;
using static Engagement.Tests.Outcomes.Build;

namespace Engagement.Tests.Outcomes;

public class ShippedQuestionnaireTests
{
    public static TheoryData<string> Ids => ["phq-9", "gad-7", "post-discharge-checkin"];

    [Theory]
    [MemberData(nameof(Ids))]
    public void Shipped_questionnaire_has_its_canonical_url_and_is_active(string id)
    {
        var q = Fhir.Shipped(id);

        Assert.Equal(id, q.Id);
        Assert.Equal($"http://engagement-functions.org/fhir/Questionnaire/{id}", q.Url);
        Assert.Equal(PublicationStatus.Active, q.Status);
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void Every_text_and_option_display_has_a_spanish_translation(string id)
    {
        var q = Fhir.Shipped(id);
        var items = Flatten(q.Item).ToList();

        Assert.All(items, i => Assert.False(string.IsNullOrEmpty(Spanish(i.TextElement)), $"item {i.LinkId} text"));
        Assert.All(items.SelectMany(i => i.AnswerOption).Select(o => (Coding)o.Value), c => Assert.False(string.IsNullOrEmpty(Spanish(c.DisplayElement)), c.Code));
    }

    [Theory]
    [InlineData("phq-9", "44249-1", "44261-6", 9)]
    [InlineData("gad-7", "69737-5", "70274-6", 7)]
    public void Instrument_has_its_loinc_panel_scored_items_and_total(string id, string panel, string total, int questions)
    {
        var q = Fhir.Shipped(id);

        Assert.Equal(panel, Assert.Single(q.Code).Code);
        var choices = q.Item.Where(i => i.Type == Questionnaire.QuestionnaireItemType.Choice).ToList();
        Assert.Equal(questions, choices.Count);
        Assert.All(choices, c => Assert.Equal(
            ["LA6568-5:0", "LA6569-3:1", "LA6570-1:2", "LA6571-9:3"],
            c.AnswerOption.Select(o => $"{((Coding)o.Value).Code}:{o.GetExtensionValue<FhirDecimal>(OutcomeUrls.OrdinalValue).Value}")));
        var totalItem = Assert.Single(q.Item, i => i.Code.Any(c => c.Code == total));
        Assert.NotNull(totalItem.GetExtensionValue<Expression>(OutcomeUrls.CalculatedExpression));
    }

    [Theory]
    [InlineData("phq-9", 9)]
    [InlineData("gad-7", 7)]
    public void Calculated_total_equals_the_sum_of_ordinal_values_for_any_answers(string id, int questions)
    {
        var q = Fhir.Shipped(id);
        var scorer = new QuestionnaireScorer();
        var random = new Random(20261124);

        for (var run = 0; run < 100; run++)
        {
            var scores = Enumerable.Range(0, questions).Select(_ => random.Next(4)).ToArray();
            var response = id == "phq-9" ? Phq9(scores) : Gad7(scores);

            Assert.Equal(scores.Sum(), scorer.Score(q, response).TotalScore);
        }
    }

    [Fact]
    public void Checkin_primary_item_is_the_bounded_pain_score_so_a_numeric_sms_reply_is_a_valid_response()
    {
        var q = Fhir.Shipped("post-discharge-checkin");
        var primary = q.GetExtensionValue<FhirString>(OutcomeUrls.PrimaryItem).Value ?? throw new InvalidOperationException("no primary item");
        var response = Response(Answer(primary, new Integer(6)));
        response.Questionnaire = q.Url;

        Assert.Equal("pain", primary);
        Fhir.AssertValid(new QuestionnaireResponseValidator().Validate(q, response));
        response.Item[0].Answer[0].Value = new Integer(11);
        Fhir.AssertError(new QuestionnaireResponseValidator().Validate(q, response), OperationOutcome.IssueType.Value, "QuestionnaireResponse.item[0].answer[0]");
    }

    [Fact]
    public void Checkin_symptom_detail_is_only_accepted_when_new_symptoms_is_yes()
    {
        var q = Fhir.Shipped("post-discharge-checkin");
        QuestionnaireResponse With(bool symptoms)
        {
            var r = Response(Answer("new-symptoms", new FhirBoolean(symptoms)), Answer("new-symptoms-detail", new FhirString("dizzy")), Answer("pain", new Integer(2)));
            r.Questionnaire = q.Url;
            return r;
        }

        Fhir.AssertValid(new QuestionnaireResponseValidator().Validate(q, With(true)));
        Fhir.AssertError(new QuestionnaireResponseValidator().Validate(q, With(false)), OperationOutcome.IssueType.Invalid, "QuestionnaireResponse.item[1]");
    }

    private static IEnumerable<Questionnaire.ItemComponent> Flatten(IEnumerable<Questionnaire.ItemComponent> items) =>
        items.SelectMany(i => Flatten(i.Item).Prepend(i));

    private static string? Spanish(Element? element) =>
        element?.GetExtensions(OutcomeUrls.Translation)
            .Where(t => t.GetExtensionValue<Code>("lang")?.Value == "es")
            .Select(t => t.GetExtensionValue<FhirString>("content")?.Value)
            .FirstOrDefault();
}
