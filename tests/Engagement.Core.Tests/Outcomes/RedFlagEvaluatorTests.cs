using Engagement.Outcomes;
using Hl7.Fhir.Model;
using Xunit;
using static Engagement.Tests.Outcomes.Build;

namespace Engagement.Tests.Outcomes;

public class RedFlagEvaluatorTests
{
    private readonly QuestionnaireEngine _engine = new();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Phq9_item_9_above_zero_raises_an_urgent_self_harm_flag_even_with_a_low_total(int item9)
    {
        var result = _engine.Process(Fhir.Shipped("phq-9"), Phq9(0, 0, 0, 0, 0, 0, 0, 0, item9));

        var flag = Assert.Single(result.RedFlags);
        Assert.Equal("self-harm-thoughts", flag.Code.Code);
        Assert.Equal("urgent", flag.Priority);
        Assert.False(string.IsNullOrWhiteSpace(flag.Description));
    }

    [Fact]
    public void Phq9_item_9_at_zero_and_a_moderate_total_raise_nothing()
    {
        var result = _engine.Process(Fhir.Shipped("phq-9"), Fhir.Fixture<QuestionnaireResponse>("QuestionnaireResponse-phq-9-moderate.json"));

        Assert.True(result.IsValid, Fhir.Describe(result.Outcome));
        Assert.Empty(result.RedFlags);
    }

    [Theory]
    [InlineData(new[] { 3, 3, 3, 3, 3, 2, 2, 1, 0 }, 20, true)]
    [InlineData(new[] { 3, 3, 3, 3, 3, 2, 1, 1, 0 }, 19, false)]
    public void Phq9_total_of_20_or_more_raises_an_urgent_severe_depression_flag(int[] scores, int total, bool raised)
    {
        var result = _engine.Process(Fhir.Shipped("phq-9"), Phq9(scores));

        Assert.Equal(total, result.TotalScore);
        Assert.Equal(raised, result.RedFlags.Any(f => f.Code.Code == "severe-depression" && f.Priority == "urgent"));
    }

    [Fact]
    public void Phq9_severe_total_with_item_9_raises_both_flags()
    {
        var result = _engine.Process(Fhir.Shipped("phq-9"), Phq9(3, 3, 3, 3, 3, 3, 3, 3, 3));

        Assert.Equal(["self-harm-thoughts", "severe-depression"], result.RedFlags.Select(f => f.Code.Code).Order());
    }

    [Theory]
    [InlineData(new[] { 3, 3, 2, 2, 2, 2, 1 }, true)]
    [InlineData(new[] { 3, 3, 2, 2, 2, 1, 1 }, false)]
    public void Gad7_total_of_15_or_more_raises_a_routine_flag(int[] scores, bool raised)
    {
        var result = _engine.Process(Fhir.Shipped("gad-7"), Gad7(scores));

        Assert.Equal(raised, result.RedFlags.Any(f => f.Code.Code == "severe-anxiety" && f.Priority == "routine"));
    }

    [Theory]
    [InlineData(8, true)]
    [InlineData(10, true)]
    [InlineData(7, false)]
    public void Checkin_pain_of_8_or_more_raises_an_urgent_flag(int pain, bool raised)
    {
        var response = Response(Answer("pain", new Integer(pain)));
        response.Questionnaire = "http://engagement-functions.org/fhir/Questionnaire/post-discharge-checkin";

        var result = _engine.Process(Fhir.Shipped("post-discharge-checkin"), response);

        Assert.True(result.IsValid, Fhir.Describe(result.Outcome));
        Assert.Equal(raised, result.RedFlags.Any(f => f.Code.Code == "severe-pain" && f.Priority == "urgent"));
    }

    [Fact]
    public void Red_flag_sees_the_recomputed_total_not_the_clients()
    {
        var response = Phq9(0, 0, 0, 0, 0, 0, 0, 0, 0);
        response.Item.Add(Answer("phq9-total", new Integer(27)));

        var result = _engine.Process(Fhir.Shipped("phq-9"), response);

        Assert.Equal(0m, result.TotalScore);
        Assert.Empty(result.RedFlags);
    }

    [Fact]
    public void Evaluator_can_be_called_directly_with_a_total()
    {
        var flags = RedFlagEvaluator.Evaluate(Fhir.Shipped("gad-7"), Gad7(0, 0, 0, 0, 0, 0, 0), totalScore: 18m);

        Assert.Equal("severe-anxiety", Assert.Single(flags).Code.Code);
    }
}
