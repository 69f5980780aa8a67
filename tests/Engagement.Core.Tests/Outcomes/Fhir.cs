using System.Text.Json;
using Engagement.Http;
using Engagement.Outcomes;
using Hl7.Fhir.Model;
using Xunit;
using IssueType = Hl7.Fhir.Model.OperationOutcome.IssueType;

namespace Engagement.Tests.Outcomes;

/// <summary>Real FHIR JSON: the shipped Questionnaires in fhir-profiles/ and the fixtures beside these tests.</summary>
internal static class Fhir
{
    public static Questionnaire Shipped(string id) => Parse<Questionnaire>(Path.Combine(AppContext.BaseDirectory, "fhir-profiles", $"Questionnaire-{id}.json"));

    public static T Fixture<T>(string file) where T : Resource => Parse<T>(Path.Combine(AppContext.BaseDirectory, "Outcomes", "Fixtures", file));

    public static T Parse<T>(string path) where T : Resource =>
        JsonSerializer.Deserialize<T>(File.ReadAllText(path), FhirJson.Options) ?? throw new InvalidOperationException(path);

    public static OperationOutcome.IssueComponent SingleError(OperationOutcome outcome)
    {
        var errors = outcome.Issue.Where(i => i.Severity == OperationOutcome.IssueSeverity.Error).ToList();
        Assert.True(errors.Count == 1, "expected one error, got: " + Describe(outcome));
        return errors[0];
    }

    public static void AssertError(OperationOutcome outcome, IssueType code, string expression)
    {
        var error = SingleError(outcome);
        Assert.Equal(code, error.Code);
        Assert.Equal([expression], error.Expression);
    }

    public static void AssertValid(OperationOutcome outcome)
    {
        Assert.True(outcome.Issue.All(i => i.Severity is OperationOutcome.IssueSeverity.Information or OperationOutcome.IssueSeverity.Warning), Describe(outcome));
    }

    public static string Describe(OperationOutcome outcome) =>
        string.Join("; ", outcome.Issue.Select(i => $"{i.Severity} {i.Code} {string.Join(",", i.Expression)}: {i.Diagnostics}"));
}

/// <summary>Builders for small Questionnaires and responses, so each test shows only the rule it is about.</summary>
internal static class Build
{
    public const string Url = "http://engagement-functions.org/fhir/Questionnaire/test";

    public static Questionnaire Form(params Questionnaire.ItemComponent[] items) => new()
    {
        Url = Url,
        Status = PublicationStatus.Active,
        Item = [.. items],
    };

    public static Questionnaire.ItemComponent Item(string linkId, Questionnaire.QuestionnaireItemType type, Action<Questionnaire.ItemComponent>? configure = null)
    {
        var item = new Questionnaire.ItemComponent { LinkId = linkId, Type = type, Text = linkId };
        configure?.Invoke(item);
        return item;
    }

    public static Questionnaire.ItemComponent Group(string linkId, params Questionnaire.ItemComponent[] children)
    {
        var group = Item(linkId, Questionnaire.QuestionnaireItemType.Group);
        group.Item = [.. children];
        return group;
    }

    public static QuestionnaireResponse Response(params QuestionnaireResponse.ItemComponent[] items) => new()
    {
        Questionnaire = Url,
        Status = QuestionnaireResponse.QuestionnaireResponseStatus.Completed,
        Subject = new ResourceReference("Patient/example"),
        Item = [.. items],
    };

    public static QuestionnaireResponse.ItemComponent Answer(string linkId, params DataType[] values) => new()
    {
        LinkId = linkId,
        Answer = values.Select(v => new QuestionnaireResponse.AnswerComponent { Value = v }).ToList(),
    };

    public static QuestionnaireResponse.ItemComponent Items(string linkId, params QuestionnaireResponse.ItemComponent[] children) => new()
    {
        LinkId = linkId,
        Item = [.. children],
    };

    public static Extension Expression(string url, string fhirPath, string? name = null) =>
        new(url, new Expression { Language = "text/fhirpath", Expression_ = fhirPath, Name = name });

    public static Coding Loinc(string code) => new("http://loinc.org", code);

    public static Questionnaire.AnswerOptionComponent Option(DataType value, decimal? ordinal = null, string url = OutcomeUrls.OrdinalValue)
    {
        var option = new Questionnaire.AnswerOptionComponent { Value = value };
        if (ordinal is { } o)
        {
            option.Extension.Add(new Extension(url, new FhirDecimal(o)));
        }

        return option;
    }

    /// <summary>A PHQ-9 response for the shipped Questionnaire with the given item scores (0-3), items 1..9 in order.</summary>
    public static QuestionnaireResponse Phq9(params int[] scores)
    {
        string[] codes = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"];
        var response = Response(scores.Select((s, i) => Answer($"phq9-{i + 1}", Loinc(codes[s]))).ToArray());
        response.Questionnaire = "http://engagement-functions.org/fhir/Questionnaire/phq-9";
        return response;
    }

    public static QuestionnaireResponse Gad7(params int[] scores)
    {
        string[] codes = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"];
        var response = Response(scores.Select((s, i) => Answer($"gad7-{i + 1}", Loinc(codes[s]))).ToArray());
        response.Questionnaire = "http://engagement-functions.org/fhir/Questionnaire/gad-7";
        return response;
    }
}
