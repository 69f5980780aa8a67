using Engagement.Outcomes;
using Hl7.Fhir.Model;
using Xunit;
using static Engagement.Tests.Outcomes.Build;

namespace Engagement.Tests.Outcomes;

public class PrimaryItemTests
{
    [Theory]
    [InlineData("7", 7)]
    [InlineData(" 10 ", 10)]
    public void Numeric_sms_reply_answers_the_checkin_pain_item(string reply, int pain)
    {
        var q = Fhir.Shipped("post-discharge-checkin");

        Assert.True(PrimaryItem.TryAnswer(q, reply, out var item));

        Assert.Equal("pain", item!.LinkId);
        Assert.Equal(pain, Assert.IsType<Integer>(Assert.Single(item.Answer).Value).Value);
    }

    [Theory]
    [InlineData("seven")]
    [InlineData("")]
    [InlineData("7.5")]
    public void Reply_that_is_not_a_whole_number_does_not_answer_the_pain_item(string reply)
    {
        Assert.False(PrimaryItem.TryAnswer(Fhir.Shipped("post-discharge-checkin"), reply, out var item));
        Assert.Null(item);
    }

    [Fact]
    public void Questionnaire_without_a_primary_item_takes_no_bare_replies()
    {
        Assert.Null(PrimaryItem.LinkId(Fhir.Shipped("phq-9")));
        Assert.False(PrimaryItem.TryAnswer(Fhir.Shipped("phq-9"), "2", out _));
    }

    [Fact]
    public void Sms_reply_of_9_becomes_a_valid_response_with_an_urgent_pain_flag()
    {
        var q = Fhir.Shipped("post-discharge-checkin");
        PrimaryItem.TryAnswer(q, "9", out var item);
        var response = Response(item!);
        response.Questionnaire = q.Url;

        var result = new QuestionnaireEngine().Process(q, response);

        Assert.True(result.IsValid, Fhir.Describe(result.Outcome));
        Assert.Equal("urgent", Assert.Single(result.RedFlags).Priority);
    }
}
