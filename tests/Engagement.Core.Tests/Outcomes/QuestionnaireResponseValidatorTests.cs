using Engagement.Outcomes;
using Hl7.Fhir.Model;
using Xunit;
using static Engagement.Tests.Outcomes.Build;
using IssueType = Hl7.Fhir.Model.OperationOutcome.IssueType;
using ItemType = Hl7.Fhir.Model.Questionnaire.QuestionnaireItemType;
using Operator = Hl7.Fhir.Model.Questionnaire.QuestionnaireItemOperator;

namespace Engagement.Tests.Outcomes;

public class QuestionnaireResponseValidatorTests
{
    private readonly QuestionnaireResponseValidator _validator = new();

    private static Questionnaire.ItemComponent Integer(string linkId, Action<Questionnaire.ItemComponent>? configure = null) => Item(linkId, ItemType.Integer, configure);

    private static Questionnaire.ItemComponent Text(string linkId, Action<Questionnaire.ItemComponent>? configure = null) => Item(linkId, ItemType.String, configure);

    [Fact]
    public void Valid_phq9_fixture_passes_with_one_informational_issue()
    {
        var outcome = _validator.Validate(Fhir.Shipped("phq-9"), Fhir.Fixture<QuestionnaireResponse>("QuestionnaireResponse-phq-9-moderate.json"));

        var issue = Assert.Single(outcome.Issue);
        Assert.Equal(OperationOutcome.IssueSeverity.Information, issue.Severity);
    }

    [Fact]
    public void Unknown_linkId_is_rejected_at_its_item()
    {
        var q = Form(Integer("a"));

        var outcome = _validator.Validate(q, Response(Answer("a", new Integer(1)), Answer("zz", new Integer(2))));

        Fhir.AssertError(outcome, IssueType.Structure, "QuestionnaireResponse.item[1]");
    }

    [Fact]
    public void Item_nested_under_the_wrong_parent_is_rejected()
    {
        var q = Form(Group("g1", Integer("a")), Group("g2", Integer("b")));

        var outcome = _validator.Validate(q, Response(Items("g1", Answer("a", new Integer(1))), Items("g2", Answer("a", new Integer(2)))));

        Fhir.AssertError(outcome, IssueType.Structure, "QuestionnaireResponse.item[1].item[0]");
    }

    [Fact]
    public void Group_child_answered_at_the_root_is_rejected()
    {
        var q = Form(Group("g1", Integer("a")));

        var outcome = _validator.Validate(q, Response(Answer("a", new Integer(1))));

        Fhir.AssertError(outcome, IssueType.Structure, "QuestionnaireResponse.item[0]");
    }

    [Fact]
    public void Children_of_a_question_are_accepted_under_its_answer_and_rejected_under_the_item()
    {
        var q = Form(Item("smoker", ItemType.Boolean, i => i.Item = [Integer("packs")]));
        var underAnswer = Response(Answer("smoker", new FhirBoolean(true)));
        underAnswer.Item[0].Answer[0].Item = [Answer("packs", new Integer(2))];
        var underItem = Response(Answer("smoker", new FhirBoolean(true)));
        underItem.Item[0].Item = [Answer("packs", new Integer(2))];

        Fhir.AssertValid(_validator.Validate(q, underAnswer));
        Fhir.AssertError(_validator.Validate(q, underItem), IssueType.Structure, "QuestionnaireResponse.item[0].item[0]");
    }

    [Fact]
    public void Answer_of_the_wrong_type_is_rejected()
    {
        var q = Form(Integer("a"));

        var outcome = _validator.Validate(q, Response(Answer("a", new FhirString("7"))));

        Fhir.AssertError(outcome, IssueType.Value, "QuestionnaireResponse.item[0].answer[0]");
    }

    [Fact]
    public void Answer_without_a_value_is_rejected()
    {
        var q = Form(Integer("a"));
        var response = Response(Answer("a"));
        response.Item[0].Answer.Add(new QuestionnaireResponse.AnswerComponent());

        Fhir.AssertError(_validator.Validate(q, response), IssueType.Required, "QuestionnaireResponse.item[0].answer[0]");
    }

    [Fact]
    public void Missing_required_item_is_rejected_at_its_parent()
    {
        var q = Form(Integer("a"), Integer("b", i => i.Required = true));

        var outcome = _validator.Validate(q, Response(Answer("a", new Integer(1))));

        Fhir.AssertError(outcome, IssueType.Required, "QuestionnaireResponse");
    }

    [Fact]
    public void Required_item_present_without_answer_is_rejected()
    {
        var q = Form(Integer("a", i => i.Required = true));

        Fhir.AssertError(_validator.Validate(q, Response(Answer("a"))), IssueType.Required, "QuestionnaireResponse.item[0]");
    }

    [Fact]
    public void Required_item_inside_a_present_group_is_enforced()
    {
        var q = Form(Group("g", Integer("a"), Integer("b", i => i.Required = true)));

        var outcome = _validator.Validate(q, Response(Items("g", Answer("a", new Integer(1)))));

        Fhir.AssertError(outcome, IssueType.Required, "QuestionnaireResponse.item[0]");
    }

    [Fact]
    public void In_progress_response_may_leave_required_items_out()
    {
        var q = Form(Integer("a"), Integer("b", i => i.Required = true));
        var response = Response(Answer("a", new Integer(1)));
        response.Status = QuestionnaireResponse.QuestionnaireResponseStatus.InProgress;

        Fhir.AssertValid(_validator.Validate(q, response));
    }

    [Fact]
    public void Required_item_that_is_disabled_may_be_missing()
    {
        var q = Form(
            Item("b", ItemType.Boolean),
            Integer("n", i =>
            {
                i.Required = true;
                i.EnableWhen.Add(new Questionnaire.EnableWhenComponent { Question = "b", Operator = Operator.Equal, Answer = new FhirBoolean(true) });
            }));

        Fhir.AssertValid(_validator.Validate(q, Response(Answer("b", new FhirBoolean(false)))));
        Fhir.AssertError(_validator.Validate(q, Response(Answer("b", new FhirBoolean(true)))), IssueType.Required, "QuestionnaireResponse");
    }

    public static TheoryData<Operator, int, bool> Comparisons => new()
    {
        { Operator.Equal, 5, true }, { Operator.Equal, 4, false },
        { Operator.NotEqual, 4, true }, { Operator.NotEqual, 5, false },
        { Operator.GreaterThan, 6, true }, { Operator.GreaterThan, 5, false },
        { Operator.LessThan, 4, true }, { Operator.LessThan, 5, false },
        { Operator.GreaterOrEqual, 5, true }, { Operator.GreaterOrEqual, 4, false },
        { Operator.LessOrEqual, 5, true }, { Operator.LessOrEqual, 6, false },
    };

    [Theory]
    [MemberData(nameof(Comparisons))]
    public void EnableWhen_operator_against_5_enables_the_item_only_when_it_holds(Operator op, int answer, bool enabled)
    {
        var q = Form(
            Integer("score"),
            Text("why", i => i.EnableWhen.Add(new Questionnaire.EnableWhenComponent { Question = "score", Operator = op, Answer = new Integer(5) })));

        var outcome = _validator.Validate(q, Response(Answer("score", new Integer(answer)), Answer("why", new FhirString("because"))));

        if (enabled)
        {
            Fhir.AssertValid(outcome);
        }
        else
        {
            Fhir.AssertError(outcome, IssueType.Invalid, "QuestionnaireResponse.item[1]");
        }
    }

    [Theory]
    [InlineData(true, true, true)]
    [InlineData(true, false, false)]
    [InlineData(false, true, false)]
    [InlineData(false, false, true)]
    public void EnableWhen_exists_checks_presence_of_an_answer(bool expectExists, bool answered, bool enabled)
    {
        var q = Form(
            Integer("score"),
            Text("why", i => i.EnableWhen.Add(new Questionnaire.EnableWhenComponent { Question = "score", Operator = Operator.Exists, Answer = new FhirBoolean(expectExists) })));
        var response = answered ? Response(Answer("score", new Integer(1)), Answer("why", new FhirString("x"))) : Response(Answer("why", new FhirString("x")));

        var outcome = _validator.Validate(q, response);

        Assert.Equal(enabled, outcome.Issue.TrueForAll(i => i.Severity != OperationOutcome.IssueSeverity.Error));
    }

    [Fact]
    public void EnableWhen_on_a_coding_compares_system_and_code()
    {
        var q = Form(
            Item("c", ItemType.Choice, i => i.AnswerOption = [Option(Loinc("LA33-6")), Option(Loinc("LA32-8"))]),
            Text("why", i => i.EnableWhen.Add(new Questionnaire.EnableWhenComponent { Question = "c", Operator = Operator.Equal, Answer = Loinc("LA33-6") })));

        Fhir.AssertValid(_validator.Validate(q, Response(Answer("c", Loinc("LA33-6")), Answer("why", new FhirString("x")))));
        Fhir.AssertError(_validator.Validate(q, Response(Answer("c", Loinc("LA32-8")), Answer("why", new FhirString("x")))), IssueType.Invalid, "QuestionnaireResponse.item[1]");
    }

    [Theory]
    [InlineData(Questionnaire.EnableWhenBehavior.Any, true)]
    [InlineData(Questionnaire.EnableWhenBehavior.All, false)]
    public void EnableBehavior_any_needs_one_condition_and_all_needs_every_condition(Questionnaire.EnableWhenBehavior behavior, bool enabled)
    {
        var q = Form(
            Integer("a"),
            Integer("b"),
            Text("why", i =>
            {
                i.EnableBehavior = behavior;
                i.EnableWhen.Add(new Questionnaire.EnableWhenComponent { Question = "a", Operator = Operator.Equal, Answer = new Integer(1) });
                i.EnableWhen.Add(new Questionnaire.EnableWhenComponent { Question = "b", Operator = Operator.Equal, Answer = new Integer(1) });
            }));

        var outcome = _validator.Validate(q, Response(Answer("a", new Integer(1)), Answer("b", new Integer(2)), Answer("why", new FhirString("x"))));

        Assert.Equal(enabled, outcome.Issue.TrueForAll(i => i.Severity != OperationOutcome.IssueSeverity.Error));
    }

    [Theory]
    [InlineData(3, true)]
    [InlineData(2, false)]
    public void EnableWhenExpression_is_evaluated_with_FHIRPath_on_the_response(int answer, bool enabled)
    {
        var q = Form(
            Integer("a"),
            Text("why", i => i.Extension.Add(Expression(OutcomeUrls.EnableWhenExpression, "%resource.item.where(linkId = 'a').answer.value > %questionnaire.item.count()"))));

        var outcome = _validator.Validate(q, Response(Answer("a", new Integer(answer)), Answer("why", new FhirString("x"))));

        Assert.Equal(enabled, outcome.Issue.TrueForAll(i => i.Severity != OperationOutcome.IssueSeverity.Error));
    }

    [Fact]
    public void Disabled_item_without_answers_is_accepted()
    {
        var q = Form(
            Item("b", ItemType.Boolean),
            Text("why", i => i.EnableWhen.Add(new Questionnaire.EnableWhenComponent { Question = "b", Operator = Operator.Equal, Answer = new FhirBoolean(true) })));

        Fhir.AssertValid(_validator.Validate(q, Response(Answer("b", new FhirBoolean(false)), Answer("why"))));
    }

    [Fact]
    public void Answers_inside_a_disabled_group_are_rejected_at_the_group()
    {
        var q = Form(
            Item("b", ItemType.Boolean),
            Group("g", Integer("n")));
        q.Item[1].EnableWhen.Add(new Questionnaire.EnableWhenComponent { Question = "b", Operator = Operator.Equal, Answer = new FhirBoolean(true) });

        var outcome = _validator.Validate(q, Response(Answer("b", new FhirBoolean(false)), Items("g", Answer("n", new Integer(1)))));

        Fhir.AssertError(outcome, IssueType.Invalid, "QuestionnaireResponse.item[1]");
    }

    [Fact]
    public void Answer_not_in_answerOption_is_rejected()
    {
        var q = Form(Item("c", ItemType.Choice, i => i.AnswerOption = [Option(Loinc("LA33-6")), Option(Loinc("LA32-8"))]));

        Fhir.AssertValid(_validator.Validate(q, Response(Answer("c", Loinc("LA32-8")))));
        Fhir.AssertError(_validator.Validate(q, Response(Answer("c", Loinc("LA99-9")))), IssueType.Value, "QuestionnaireResponse.item[0].answer[0]");
        Fhir.AssertError(_validator.Validate(q, Response(Answer("c", new Coding("http://snomed.info/sct", "LA32-8")))), IssueType.Value, "QuestionnaireResponse.item[0].answer[0]");
    }

    [Fact]
    public void Open_choice_accepts_free_text_but_checks_codings()
    {
        var q = Form(Item("c", ItemType.OpenChoice, i => i.AnswerOption = [Option(Loinc("LA33-6"))]));

        Fhir.AssertValid(_validator.Validate(q, Response(Answer("c", new FhirString("something else")))));
        Fhir.AssertError(_validator.Validate(q, Response(Answer("c", Loinc("LA99-9")))), IssueType.Value, "QuestionnaireResponse.item[0].answer[0]");
    }

    private const string YesNo = "http://example.org/ValueSet/yes-no";

    private static ValueSet ExpandedYesNo() => new()
    {
        Url = YesNo,
        Expansion = new ValueSet.ExpansionComponent
        {
            Contains = [new ValueSet.ContainsComponent { System = "http://loinc.org", Code = "LA33-6" }, new ValueSet.ContainsComponent { System = "http://loinc.org", Code = "LA32-8" }],
        },
    };

    private static ValueSet ComposedYesNo() => new()
    {
        Url = YesNo,
        Compose = new ValueSet.ComposeComponent
        {
            Include = [new ValueSet.ConceptSetComponent { System = "http://loinc.org", Concept = [new ValueSet.ConceptReferenceComponent { Code = "LA33-6" }, new ValueSet.ConceptReferenceComponent { Code = "LA32-8" }] }],
        },
    };

    public static TheoryData<string> ValueSetShapes => ["expansion", "compose"];

    [Theory]
    [MemberData(nameof(ValueSetShapes))]
    public void AnswerValueSet_membership_is_checked_through_the_resolver(string shape)
    {
        var terminology = new InMemoryTerminology([shape == "expansion" ? ExpandedYesNo() : ComposedYesNo()]);
        var validator = new QuestionnaireResponseValidator(terminology);
        var q = Form(Item("c", ItemType.Choice, i => i.AnswerValueSet = YesNo + "|1.0"));

        Fhir.AssertValid(validator.Validate(q, Response(Answer("c", Loinc("LA33-6")))));
        Fhir.AssertError(validator.Validate(q, Response(Answer("c", Loinc("LA4489-6")))), IssueType.Value, "QuestionnaireResponse.item[0].answer[0]");
    }

    [Fact]
    public void AnswerValueSet_that_cannot_be_resolved_rejects_the_answer()
    {
        var q = Form(Item("c", ItemType.Choice, i => i.AnswerValueSet = YesNo));

        Fhir.AssertError(_validator.Validate(q, Response(Answer("c", Loinc("LA33-6")))), IssueType.NotFound, "QuestionnaireResponse.item[0].answer[0]");
    }

    [Fact]
    public void Several_answers_are_rejected_unless_the_item_repeats()
    {
        var single = Form(Integer("a"));
        var repeating = Form(Integer("a", i => i.Repeats = true));
        var response = Response(Answer("a", new Integer(1), new Integer(2)));

        Fhir.AssertError(_validator.Validate(single, response), IssueType.Structure, "QuestionnaireResponse.item[0].answer[1]");
        Fhir.AssertValid(_validator.Validate(repeating, response));
    }

    [Fact]
    public void The_same_question_twice_is_rejected()
    {
        var q = Form(Integer("a"));

        Fhir.AssertError(_validator.Validate(q, Response(Answer("a", new Integer(1)), Answer("a", new Integer(2)))), IssueType.Structure, "QuestionnaireResponse.item[1]");
    }

    [Theory]
    [InlineData(-1, false)]
    [InlineData(0, true)]
    [InlineData(10, true)]
    [InlineData(11, false)]
    public void MinValue_and_maxValue_bound_the_answer(int answer, bool valid)
    {
        var q = Form(Integer("pain", i =>
        {
            i.Extension.Add(new Extension(OutcomeUrls.MinValue, new Integer(0)));
            i.Extension.Add(new Extension(OutcomeUrls.MaxValue, new Integer(10)));
        }));

        var outcome = _validator.Validate(q, Response(Answer("pain", new Integer(answer))));

        if (valid)
        {
            Fhir.AssertValid(outcome);
        }
        else
        {
            Fhir.AssertError(outcome, IssueType.Value, "QuestionnaireResponse.item[0].answer[0]");
        }
    }

    [Fact]
    public void MinValue_applies_to_dates()
    {
        var q = Form(Item("d", ItemType.Date, i => i.Extension.Add(new Extension(OutcomeUrls.MinValue, new Date("2020-01-01")))));

        Fhir.AssertValid(_validator.Validate(q, Response(Answer("d", new Date("2021-05-01")))));
        Fhir.AssertError(_validator.Validate(q, Response(Answer("d", new Date("2019-12-31")))), IssueType.Value, "QuestionnaireResponse.item[0].answer[0]");
    }

    [Theory]
    [InlineData("abcdef", true)]
    [InlineData("abcdefg", false)]
    public void MaxLength_limits_text_answers(string answer, bool valid)
    {
        var q = Form(Text("t", i => i.MaxLength = 6));

        Assert.Equal(valid, _validator.Validate(q, Response(Answer("t", new FhirString(answer)))).Issue.TrueForAll(i => i.Severity != OperationOutcome.IssueSeverity.Error));
    }

    [Theory]
    [InlineData("abc", true)]
    [InlineData("ab", false)]
    public void MinLength_extension_requires_enough_characters(string answer, bool valid)
    {
        var q = Form(Text("t", i => i.Extension.Add(new Extension(OutcomeUrls.MinLength, new Integer(3)))));

        Assert.Equal(valid, _validator.Validate(q, Response(Answer("t", new FhirString(answer)))).Issue.TrueForAll(i => i.Severity != OperationOutcome.IssueSeverity.Error));
    }

    [Theory]
    [InlineData("12345", true)]
    [InlineData("1234", false)]
    [InlineData("12345-6789x", false)]
    public void Regex_extension_must_match_the_whole_answer(string answer, bool valid)
    {
        var q = Form(Text("zip", i => i.Extension.Add(new Extension(OutcomeUrls.Regex, new FhirString("[0-9]{5}(-[0-9]{4})?")))));

        var outcome = _validator.Validate(q, Response(Answer("zip", new FhirString(answer))));

        if (valid)
        {
            Fhir.AssertValid(outcome);
        }
        else
        {
            Fhir.AssertError(outcome, IssueType.Value, "QuestionnaireResponse.item[0].answer[0]");
        }
    }

    [Fact]
    public void Display_item_carrying_an_answer_is_rejected()
    {
        var q = Form(Item("intro", ItemType.Display), Integer("a"));

        Fhir.AssertError(_validator.Validate(q, Response(Answer("intro", new FhirString("hi")), Answer("a", new Integer(1)))), IssueType.Invalid, "QuestionnaireResponse.item[0]");
    }

    [Fact]
    public void Group_carrying_an_answer_is_rejected()
    {
        var q = Form(Group("g", Integer("a")));
        var response = Response(Items("g", Answer("a", new Integer(1))));
        response.Item[0].Answer.Add(new QuestionnaireResponse.AnswerComponent { Value = new Integer(1) });

        Fhir.AssertError(_validator.Validate(q, response), IssueType.Invalid, "QuestionnaireResponse.item[0].answer[0]");
    }

    [Fact]
    public void Calculated_and_readOnly_items_are_not_checked_because_they_are_recomputed()
    {
        var q = Form(
            Integer("a"),
            Integer("total", i => i.Extension.Add(Expression(OutcomeUrls.CalculatedExpression, "%resource.item.where(linkId = 'a').answer.value * 2"))),
            Text("note", i => i.ReadOnly = true));

        var outcome = _validator.Validate(q, Response(Answer("a", new Integer(2)), Answer("total", new FhirString("not even a number")), Answer("note", new Integer(3))));

        Fhir.AssertValid(outcome);
    }

    [Theory]
    [InlineData(QuestionnaireResponse.QuestionnaireResponseStatus.Completed, true)]
    [InlineData(QuestionnaireResponse.QuestionnaireResponseStatus.Amended, true)]
    [InlineData(QuestionnaireResponse.QuestionnaireResponseStatus.Stopped, false)]
    [InlineData(QuestionnaireResponse.QuestionnaireResponseStatus.EnteredInError, false)]
    public void Status_must_be_completed_in_progress_or_amended(QuestionnaireResponse.QuestionnaireResponseStatus status, bool valid)
    {
        var response = Response(Answer("a", new Integer(1)));
        response.Status = status;

        var outcome = _validator.Validate(Form(Integer("a")), response);

        if (valid)
        {
            Fhir.AssertValid(outcome);
        }
        else
        {
            Fhir.AssertError(outcome, IssueType.Invalid, "QuestionnaireResponse.status");
        }
    }

    [Theory]
    [InlineData(Url, true)]
    [InlineData(Url + "|2.0", true)]
    [InlineData(Url + "|1.0", false)]
    [InlineData("http://engagement-functions.org/fhir/Questionnaire/other", false)]
    public void Questionnaire_canonical_must_name_the_questionnaire_and_its_version(string canonical, bool valid)
    {
        var q = Form(Integer("a"));
        q.Version = "2.0";
        var response = Response(Answer("a", new Integer(1)));
        response.Questionnaire = canonical;

        var outcome = _validator.Validate(q, response);

        if (valid)
        {
            Fhir.AssertValid(outcome);
        }
        else
        {
            Fhir.AssertError(outcome, IssueType.Invalid, "QuestionnaireResponse.questionnaire");
        }
    }

    [Fact]
    public void Missing_questionnaire_canonical_is_rejected()
    {
        var response = Response(Answer("a", new Integer(1)));
        response.Questionnaire = null;

        Fhir.AssertError(_validator.Validate(Form(Integer("a")), response), IssueType.Required, "QuestionnaireResponse.questionnaire");
    }

    [Fact]
    public void Subject_must_be_a_patient()
    {
        var response = Response(Answer("a", new Integer(1)));
        response.Subject = new ResourceReference("Practitioner/dr-x");

        Fhir.AssertError(_validator.Validate(Form(Integer("a")), response), IssueType.Invalid, "QuestionnaireResponse.subject");
    }

    [Fact]
    public void Every_problem_gets_its_own_issue()
    {
        var q = Form(Integer("a", i => i.Required = true), Text("t", i => i.MaxLength = 2));

        var outcome = _validator.Validate(q, Response(Answer("t", new FhirString("too long")), Answer("x", new Integer(1))));

        Assert.Equal(3, outcome.Issue.Count(i => i.Severity == OperationOutcome.IssueSeverity.Error));
    }
}
