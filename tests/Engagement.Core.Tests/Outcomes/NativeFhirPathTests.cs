using System.Globalization;
using Engagement.Outcomes;
using Hl7.Fhir.Model;
using Xunit;

namespace Engagement.Tests.Outcomes;

/// <summary>
/// The native FHIRPath subset gives Firely's answer: every expression shipped in fhir-profiles/ and a set of others,
/// over real responses, both ways through <see cref="ResponseScope"/> (same variables, same bindings). Outside the
/// subset it declines (null) and the scope's answer is Firely's.
/// </summary>
public class NativeFhirPathTests
{
    private const string Checkin = """
        {"resourceType":"QuestionnaireResponse","status":"completed","item":[
        {"linkId":"feeling","answer":[{"valueCoding":{"system":"http://engagement-functions.org/fhir/CodeSystem/checkin-feeling","code":"worse"}}]},
        {"linkId":"new-symptoms","answer":[{"valueBoolean":true}]},
        {"linkId":"new-symptoms-detail","answer":[{"valueString":"short of breath"}]},
        {"linkId":"medication-taken","answer":[{"valueBoolean":false}]},
        {"linkId":"pain","answer":[{"valueInteger":9}]}]}
        """;

    public static TheoryData<string, string> Shipped()
    {
        var data = new TheoryData<string, string>();
        foreach (var id in new[] { "phq-9", "gad-7", "post-discharge-checkin" })
        {
            foreach (var text in ExpressionsOf(Fhir.Shipped(id)))
            {
                data.Add(id, text);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Shipped))]
    public void Every_shipped_expression_is_evaluated_natively_with_Firelys_result(string questionnaire, string text)
    {
        foreach (var (q, response) in Cases(questionnaire))
        {
            AssertSame(q, response, text, expectNative: true);
        }
    }

    [Theory]
    [InlineData("%resource.item.answer.value.code")]
    [InlineData("%resource.item.count()")]
    [InlineData("%resource.item.answer.value.code.exclude('LA6568-5').count() + 1")]
    [InlineData("%resource.item.answer.value.code.exclude('LA6568-5').exclude('LA6569-3').count() - 2")]
    [InlineData("%resource.item.first().linkId")]
    [InlineData("%resource.item.last().linkId = 'phq9-9'")]
    [InlineData("%resource.status = 'completed'")]
    [InlineData("%resource.status != 'completed' or %resource.item.exists()")]
    [InlineData("%resource.status != 'completed' and %resource.item.exists()")]
    [InlineData("%resource.item.where(linkId = 'nope').answer.value >= 8")]
    [InlineData("%resource.item.where(linkId = 'nope').exists() or false")]
    [InlineData("(1 + 2) >= 3 and true")]
    [InlineData("2.5 + 1 > 3")]
    [InlineData("%resource.item.answer.empty().not()")]
    [InlineData("item.linkId.count()")]
    [InlineData("$this.item.where(linkId.exists()).count() - 2")]
    [InlineData("%resource.item.where(answer.value.code = 'LA6568-5').linkId")]
    [InlineData("%totalScore >= 10")]
    [InlineData("%totalScore + 0.5")]
    [InlineData("'a' + 'b' = 'ab'")]
    [InlineData("'abc' < 'abd'")]
    [InlineData("%resource.item.answer.value.display.first()")]
    [InlineData("%resource.item.answer.value.nothere.exists()")]
    [InlineData("%resource.item.where(linkId = 'pain').answer.value >= 8")]
    [InlineData("%resource.item.where(linkId = 'new-symptoms').answer.value = true and %resource.item.where(linkId = 'medication-taken').answer.value.not()")]
    public void Expressions_inside_the_subset_give_Firelys_result(string text)
    {
        foreach (var id in new[] { "phq-9", "post-discharge-checkin" })
        {
            foreach (var (q, response) in Cases(id))
            {
                AssertSame(q, response, text, expectNative: true);
            }
        }
    }

    [Theory]
    [InlineData("%resource.authored > @2020-01-01T00:00:00Z")] // a date literal
    [InlineData("%resource.item.answer.value.ofType(Coding).count()")] // a function outside the subset
    [InlineData("%resource.item.linkId | %resource.item.linkId")] // union
    [InlineData("today().exists()")]
    [InlineData("%resource.item.answer.value = 'LA6568-5'")] // run time: a Coding compared with a string, many items
    [InlineData("%resource.item.first().answer.value.code.length() > 3")]
    public void Expressions_outside_the_subset_are_left_to_Firely(string text)
    {
        var q = CompiledQuestionnaire.For(Fhir.Shipped("phq-9"));
        var response = Fhir.Fixture<QuestionnaireResponse>("QuestionnaireResponse-phq-9-moderate.json");
        var expression = FhirPathRuntime.Compile(text, "test");

        Assert.Null(new ResponseScope(q, response).TryEvaluateNative(expression, null, Bindings(null)));
        var firely = new ResponseScope(q, response).Evaluate(expression, null, Bindings(null));
        var truth = firely switch
        {
            [var single] when single.Poco is PrimitiveType { JsonValue: bool b } => b,
            [] => false,
            _ => true,
        };
        Assert.Equal(truth, new ResponseScope(q, response).IsTrue(expression, null, Bindings(null)));
    }

    private static void AssertSame(CompiledQuestionnaire q, QuestionnaireResponse response, string text, bool expectNative)
    {
        var expression = FhirPathRuntime.Compile(text, "test");
        var item = q.PreOrder.FirstOrDefault(i => i.Calculated?.Text == text || i.Variables.Any(v => v.Expression.Text == text));
        foreach (var total in new decimal?[] { null, 11m, 21m })
        {
            var native = new ResponseScope(q, response).TryEvaluateNative(expression, item, Bindings(total));
            var firely = new ResponseScope(q, response).Evaluate(expression, item, Bindings(total));
            if (expectNative)
            {
                Assert.True(native is not null, $"'{text}' was not evaluated natively");
            }

            Assert.Equal(firely.Select(n => Normal(n.Poco)), native!.Select(Normal));
        }
    }

    private static Dictionary<string, IEnumerable<PocoNode>> Bindings(decimal? total) => new(StringComparer.Ordinal)
    {
        ["totalScore"] = total is { } t ? [FhirPathRuntime.Primitive(new FhirDecimal(t))] : [],
    };

    /// <summary>A comparable form: numbers by value, strings and booleans as such, elements as their JSON.</summary>
    private static string Normal(object value) => value switch
    {
        bool b => "b:" + b,
        string s => "s:" + s,
        int or long or decimal => "n:" + Convert.ToDecimal(value, CultureInfo.InvariantCulture).ToString("G29", CultureInfo.InvariantCulture),
        PrimitiveType { JsonValue: { } json } => Normal(json), // FHIR primitives and FHIRPath's System types alike
        Base element => "e:" + element.TypeName + ":" + System.Text.Json.JsonSerializer.Serialize(element, Engagement.Http.FhirJson.Options),
        _ => "?:" + value,
    };

    private static IEnumerable<(CompiledQuestionnaire, QuestionnaireResponse)> Cases(string questionnaire)
    {
        var q = CompiledQuestionnaire.For(Fhir.Shipped(questionnaire));
        QuestionnaireResponse[] responses = questionnaire switch
        {
            "phq-9" =>
            [
                Fhir.Fixture<QuestionnaireResponse>("QuestionnaireResponse-phq-9-moderate.json"),
                WithTotal(Fhir.Fixture<QuestionnaireResponse>("QuestionnaireResponse-phq-9-moderate.json")),
                new QuestionnaireResponse { Status = QuestionnaireResponse.QuestionnaireResponseStatus.Completed },
            ],
            "gad-7" =>
            [
                new QuestionnaireResponse { Status = QuestionnaireResponse.QuestionnaireResponseStatus.Completed },
                Answers("gad7-", 7, "LA6570-1"),
            ],
            _ =>
            [
                System.Text.Json.JsonSerializer.Deserialize<QuestionnaireResponse>(Checkin, Engagement.Http.FhirJson.Options)!,
                new QuestionnaireResponse { Status = QuestionnaireResponse.QuestionnaireResponseStatus.InProgress },
            ],
        };
        return responses.Select(r => (q, r));
    }

    /// <summary>The client sent a total of its own (LHC-Forms does): an integer among the codes.</summary>
    private static QuestionnaireResponse WithTotal(QuestionnaireResponse response)
    {
        response.Item.Add(new QuestionnaireResponse.ItemComponent { LinkId = "phq9-total", Answer = [new() { Value = new Integer(3) }] });
        return response;
    }

    private static QuestionnaireResponse Answers(string prefix, int count, string code) => new()
    {
        Status = QuestionnaireResponse.QuestionnaireResponseStatus.Completed,
        Item = [.. Enumerable.Range(1, count).Select(i => new QuestionnaireResponse.ItemComponent
        {
            LinkId = prefix + i,
            Answer = [new() { Value = new Coding("http://loinc.org", code) }],
        })],
    };

    private static IEnumerable<string> ExpressionsOf(Questionnaire questionnaire)
    {
        var q = CompiledQuestionnaire.For(questionnaire);
        return q.Variables.Select(v => v.Expression.Text)
            .Concat(q.RedFlags.Select(r => r.Expression.Text))
            .Concat(q.PreOrder.SelectMany(i => i.Variables.Select(v => v.Expression.Text)
                .Concat(new[] { i.Calculated?.Text, i.EnableWhenExpression?.Text }.OfType<string>())))
            .Distinct();
    }
}
