using System.Runtime.CompilerServices;
using Hl7.Fhir.Model;
using ItemType = Hl7.Fhir.Model.Questionnaire.QuestionnaireItemType;
using IssueType = Hl7.Fhir.Model.OperationOutcome.IssueType;

namespace Engagement.Outcomes;

/// <summary>
/// Validates a QuestionnaireResponse against its Questionnaire per SDC, trusting nothing the renderer did:
/// structure and nesting, answer types, required (when enabled and the response is not in-progress), enableWhen /
/// enableBehavior / enableWhenExpression, answerOption and answerValueSet membership, repeats, min/max value,
/// min/max length and regex. Calculated and readOnly items are not checked: the scorer recomputes them.
/// Every problem becomes one error issue whose expression points at the response element.
/// </summary>
public sealed class QuestionnaireResponseValidator
{
    private static readonly ConditionalWeakTable<ValueSet, ValueSetIndex> ValueSetIndexes = new();
    private readonly IValueSetResolver _valueSets;

    public QuestionnaireResponseValidator(IValueSetResolver? valueSets = null)
    {
        _valueSets = valueSets ?? NoTerminology.Instance;
    }

    public OperationOutcome Validate(Questionnaire questionnaire, QuestionnaireResponse response)
    {
        ArgumentNullException.ThrowIfNull(questionnaire);
        ArgumentNullException.ThrowIfNull(response);
        var issues = Validate(CompiledQuestionnaire.For(questionnaire), response);
        return ToOutcome(issues, questionnaire.Url);
    }

    internal static OperationOutcome ToOutcome(List<OperationOutcome.IssueComponent> issues, string? url)
    {
        if (issues.Count == 0)
        {
            issues.Add(new OperationOutcome.IssueComponent
            {
                Severity = OperationOutcome.IssueSeverity.Information,
                Code = IssueType.Informational,
                Diagnostics = $"QuestionnaireResponse is valid against {url}.",
            });
        }

        return new OperationOutcome { Issue = issues };
    }

    internal List<OperationOutcome.IssueComponent> Validate(CompiledQuestionnaire questionnaire, QuestionnaireResponse response)
    {
        var run = new Run(this, questionnaire, response);
        run.CheckHeader();
        run.Walk(response.Item, questionnaire.Roots, "QuestionnaireResponse");
        return run.Issues;
    }

    private sealed class Run(QuestionnaireResponseValidator validator, CompiledQuestionnaire questionnaire, QuestionnaireResponse response)
    {
        private readonly Dictionary<CompiledItem, bool> _enabled = [];
        private readonly HashSet<CompiledItem> _evaluating = [];
        private Dictionary<string, List<DataType>>? _answers;
        private ResponseScope? _scope;

        public List<OperationOutcome.IssueComponent> Issues { get; } = [];

        private bool EnforceRequired => response.Status != QuestionnaireResponse.QuestionnaireResponseStatus.InProgress;

        public void CheckHeader()
        {
            if (response.Status is not (QuestionnaireResponse.QuestionnaireResponseStatus.Completed
                or QuestionnaireResponse.QuestionnaireResponseStatus.InProgress
                or QuestionnaireResponse.QuestionnaireResponseStatus.Amended))
            {
                Error(IssueType.Invalid, "QuestionnaireResponse.status", "status must be completed, in-progress or amended.");
            }

            var q = questionnaire.Questionnaire;
            if (string.IsNullOrEmpty(response.Questionnaire))
            {
                Error(IssueType.Required, "QuestionnaireResponse.questionnaire", "questionnaire is missing.");
            }
            else if (!CanonicalMatches(response.Questionnaire, q.Url, q.Version))
            {
                Error(IssueType.Invalid, "QuestionnaireResponse.questionnaire", $"questionnaire '{response.Questionnaire}' is not {q.Url}.");
            }

            var subject = response.Subject;
            if (subject is not null && subject.Reference is { } reference && !reference.StartsWith("Patient/", StringComparison.Ordinal)
                && !reference.StartsWith("urn:", StringComparison.Ordinal) && !reference.Contains("/Patient/", StringComparison.Ordinal))
            {
                Error(IssueType.Invalid, "QuestionnaireResponse.subject", "subject must reference a Patient.");
            }
            else if (subject is not null && subject.Type is { } type && type != "Patient")
            {
                Error(IssueType.Invalid, "QuestionnaireResponse.subject", "subject must reference a Patient.");
            }
        }

        private static bool CanonicalMatches(string canonical, string? url, string? version)
        {
            var bar = canonical.IndexOf('|', StringComparison.Ordinal);
            var bareUrl = bar < 0 ? canonical : canonical[..bar];
            return bareUrl == url && (bar < 0 || version is null || canonical[(bar + 1)..] == version);
        }

        public void Walk(List<QuestionnaireResponse.ItemComponent> items, IReadOnlyList<CompiledItem> definitions, string path)
        {
            Dictionary<string, int>? seen = null;
            for (var i = 0; i < items.Count; i++)
            {
                var item = items[i];
                var itemPath = $"{path}.item[{i}]";
                if (string.IsNullOrEmpty(item.LinkId))
                {
                    Error(IssueType.Required, itemPath, "item has no linkId.");
                    continue;
                }

                var definition = Find(definitions, item.LinkId);
                if (definition is null)
                {
                    if (questionnaire.ByLinkId.TryGetValue(item.LinkId, out var elsewhere))
                    {
                        var parent = elsewhere.Parent is null ? "at the root" : $"under '{elsewhere.Parent.LinkId}'";
                        Error(IssueType.Structure, itemPath, $"item '{item.LinkId}' is not allowed here; the Questionnaire has it {parent}.");
                    }
                    else
                    {
                        Error(IssueType.Structure, itemPath, $"linkId '{item.LinkId}' is not in the Questionnaire.");
                    }

                    continue;
                }

                seen ??= new Dictionary<string, int>(StringComparer.Ordinal);
                var count = seen[item.LinkId] = seen.GetValueOrDefault(item.LinkId) + 1;
                if (count > 1 && !(definition.Type == ItemType.Group && definition.Repeats))
                {
                    Error(IssueType.Structure, itemPath, definition.IsQuestion
                        ? $"item '{item.LinkId}' occurs more than once; repeated answers belong in one item's answer list."
                        : $"item '{item.LinkId}' does not repeat.");
                }

                ValidateItem(item, definition, itemPath);
            }

            if (!EnforceRequired)
            {
                return;
            }

            foreach (var definition in definitions)
            {
                if (definition.Required && !definition.IsComputed && (seen is null || !seen.ContainsKey(definition.LinkId)) && IsEnabled(definition))
                {
                    Error(IssueType.Required, path, $"required item '{definition.LinkId}' is missing.");
                }
            }
        }

        private static CompiledItem? Find(IReadOnlyList<CompiledItem> definitions, string linkId)
        {
            foreach (var definition in definitions)
            {
                if (definition.LinkId == linkId)
                {
                    return definition;
                }
            }

            return null;
        }

        private void ValidateItem(QuestionnaireResponse.ItemComponent item, CompiledItem definition, string path)
        {
            if (!IsEnabled(definition))
            {
                if (HasAnyAnswer(item))
                {
                    Error(IssueType.Invalid, path, $"item '{definition.LinkId}' is answered but not enabled.");
                }

                return;
            }

            if (definition.IsComputed)
            {
                return; // recomputed by the scorer; the client's value is never used
            }

            switch (definition.Type)
            {
                case ItemType.Display:
                    if (item.Answer.Count > 0 || item.Item.Count > 0)
                    {
                        Error(IssueType.Invalid, path, $"display item '{definition.LinkId}' must not carry answers or items.");
                    }

                    return;
                case ItemType.Group:
                    if (item.Answer.Count > 0)
                    {
                        Error(IssueType.Invalid, path + ".answer[0]", $"group '{definition.LinkId}' must not carry answers.");
                    }

                    Walk(item.Item, definition.Children, path);
                    return;
            }

            if (item.Item.Count > 0)
            {
                Error(IssueType.Structure, path + ".item[0]", $"items nested in question '{definition.LinkId}' belong under its answer.");
            }

            if (item.Answer.Count == 0)
            {
                if (definition.Required && EnforceRequired)
                {
                    Error(IssueType.Required, path, $"required item '{definition.LinkId}' has no answer.");
                }

                return;
            }

            if (item.Answer.Count > 1 && !definition.Repeats)
            {
                Error(IssueType.Structure, path + ".answer[1]", $"item '{definition.LinkId}' does not repeat; one answer allowed.");
            }

            for (var a = 0; a < item.Answer.Count; a++)
            {
                var answer = item.Answer[a];
                var answerPath = $"{path}.answer[{a}]";
                ValidateValue(answer.Value, definition, answerPath);
                if (answer.Item.Count > 0)
                {
                    Walk(answer.Item, definition.Children, answerPath);
                }
            }
        }

        private void ValidateValue(DataType? value, CompiledItem definition, string path)
        {
            if (value is null)
            {
                Error(IssueType.Required, path, $"answer to '{definition.LinkId}' has no value.");
                return;
            }

            if (!TypeMatches(value, definition))
            {
                Error(IssueType.Value, path, $"answer to '{definition.LinkId}' is {value.TypeName}; item type is {definition.Item.TypeElement?.JsonValue}.");
                return;
            }

            if (definition.Type == ItemType.Choice || (definition.Type == ItemType.OpenChoice && value is not FhirString))
            {
                CheckMembership(value, definition, path);
            }

            CheckRange(value, definition, path);
            if (value is PrimitiveType { JsonValue: string text } && definition.Type is ItemType.String or ItemType.Text or ItemType.Url or ItemType.OpenChoice)
            {
                if (definition.Item.MaxLength is { } max && text.Length > max)
                {
                    Error(IssueType.Value, path, $"answer to '{definition.LinkId}' is longer than {max} characters.");
                }

                if (definition.MinLength is { } min && text.Length < min)
                {
                    Error(IssueType.Value, path, $"answer to '{definition.LinkId}' is shorter than {min} characters.");
                }

                if (definition.Pattern is { } pattern && !Matches(pattern, text))
                {
                    Error(IssueType.Value, path, $"answer to '{definition.LinkId}' does not match the required pattern.");
                }
            }
        }

        private static bool Matches(System.Text.RegularExpressions.Regex pattern, string text)
        {
            try
            {
                return pattern.IsMatch(text);
            }
            catch (System.Text.RegularExpressions.RegexMatchTimeoutException)
            {
                return false;
            }
        }

        private static bool TypeMatches(DataType value, CompiledItem definition) => definition.Type switch
        {
            ItemType.Boolean => value is FhirBoolean,
            ItemType.Decimal => value is FhirDecimal,
            ItemType.Integer => value is Integer,
            ItemType.Date => value is Date,
            ItemType.DateTime => value is FhirDateTime,
            ItemType.Time => value is Time,
            ItemType.String or ItemType.Text => value is FhirString,
            ItemType.Url => value is FhirUri,
            ItemType.Choice => definition.HasOptions ? definition.OptionTypes.Contains(value.GetType()) : value is Coding,
            ItemType.OpenChoice => value is FhirString || (definition.HasOptions ? definition.OptionTypes.Contains(value.GetType()) : value is Coding),
            ItemType.Attachment => value is Attachment,
            ItemType.Reference => value is ResourceReference,
            ItemType.Quantity => value is Quantity,
            _ => false,
        };

        private void CheckMembership(DataType value, CompiledItem definition, string path)
        {
            if (definition.HasOptions)
            {
                if (!definition.HasOption(value))
                {
                    Error(IssueType.Value, path, $"answer to '{definition.LinkId}' is not one of its answerOptions.");
                }

                return;
            }

            if (definition.Item.AnswerValueSet is not { } canonical)
            {
                return;
            }

            if (value is not Coding coding)
            {
                Error(IssueType.Value, path, $"answer to '{definition.LinkId}' must be a Coding from {canonical}.");
                return;
            }

            var valueSet = validator._valueSets.ResolveValueSet(canonical);
            if (valueSet is null)
            {
                Error(IssueType.NotFound, path, $"value set {canonical} of '{definition.LinkId}' cannot be resolved, so the answer cannot be checked.");
                return;
            }

            switch (ValueSetIndexes.GetValue(valueSet, static vs => new ValueSetIndex(vs)).Contains(coding))
            {
                case false:
                    Error(IssueType.Value, path, $"answer to '{definition.LinkId}' is not in {canonical}.");
                    break;
                case null:
                    Error(IssueType.NotSupported, path, $"value set {canonical} uses filters; membership cannot be checked without an expansion.");
                    break;
            }
        }

        private void CheckRange(DataType value, CompiledItem definition, string path)
        {
            if (definition.MinValue is { } min && Compare(value, min) is < 0)
            {
                Error(IssueType.Value, path, $"answer to '{definition.LinkId}' is below the minimum {min}.");
            }

            if (definition.MaxValue is { } max && Compare(value, max) is > 0)
            {
                Error(IssueType.Value, path, $"answer to '{definition.LinkId}' is above the maximum {max}.");
            }
        }

        private bool IsEnabled(CompiledItem definition)
        {
            if (_enabled.TryGetValue(definition, out var known))
            {
                return known;
            }

            if (!_evaluating.Add(definition))
            {
                return false; // a cycle of enableWhen references: treat as disabled
            }

            var enabled = (definition.Parent is null || IsEnabled(definition.Parent)) && OwnConditionHolds(definition);
            _evaluating.Remove(definition);
            _enabled[definition] = enabled;
            return enabled;
        }

        private bool OwnConditionHolds(CompiledItem definition)
        {
            if (definition.EnableWhenExpression is { } expression)
            {
                _scope ??= new ResponseScope(questionnaire, response);
                return _scope.IsTrue(expression, definition);
            }

            var conditions = definition.Item.EnableWhen;
            if (conditions.Count == 0)
            {
                return true;
            }

            var all = definition.Item.EnableBehavior == Questionnaire.EnableWhenBehavior.All;
            foreach (var condition in conditions)
            {
                var holds = Holds(condition);
                if (all && !holds)
                {
                    return false;
                }

                if (!all && holds)
                {
                    return true;
                }
            }

            return all;
        }

        private bool Holds(Questionnaire.EnableWhenComponent condition)
        {
            var answers = AnswersOf(condition.Question);
            var expected = condition.Answer;
            return condition.Operator switch
            {
                Questionnaire.QuestionnaireItemOperator.Exists => (answers.Count > 0) == (expected is FhirBoolean { Value: true }),
                Questionnaire.QuestionnaireItemOperator.Equal => answers.Exists(a => AreEqual(a, expected)),
                Questionnaire.QuestionnaireItemOperator.NotEqual => answers.Exists(a => !AreEqual(a, expected)),
                Questionnaire.QuestionnaireItemOperator.GreaterThan => answers.Exists(a => Compare(a, expected) is > 0),
                Questionnaire.QuestionnaireItemOperator.LessThan => answers.Exists(a => Compare(a, expected) is < 0),
                Questionnaire.QuestionnaireItemOperator.GreaterOrEqual => answers.Exists(a => Compare(a, expected) is >= 0),
                Questionnaire.QuestionnaireItemOperator.LessOrEqual => answers.Exists(a => Compare(a, expected) is <= 0),
                _ => false,
            };
        }

        /// <summary>Answers to a question anywhere in the response; none when that question is itself disabled.</summary>
        private List<DataType> AnswersOf(string? linkId)
        {
            if (linkId is null || !questionnaire.ByLinkId.TryGetValue(linkId, out var question) || !IsEnabled(question))
            {
                return [];
            }

            if (_answers is null)
            {
                _answers = new Dictionary<string, List<DataType>>(StringComparer.Ordinal);
                Index(response.Item, _answers);
            }

            return _answers.TryGetValue(linkId, out var list) ? list : [];
        }

        private static void Index(List<QuestionnaireResponse.ItemComponent> items, Dictionary<string, List<DataType>> answers)
        {
            foreach (var item in items)
            {
                foreach (var answer in item.Answer)
                {
                    if (item.LinkId is not null && answer.Value is not null)
                    {
                        if (!answers.TryGetValue(item.LinkId, out var list))
                        {
                            answers[item.LinkId] = list = [];
                        }

                        list.Add(answer.Value);
                    }

                    Index(answer.Item, answers);
                }

                Index(item.Item, answers);
            }
        }

        private static bool HasAnyAnswer(QuestionnaireResponse.ItemComponent item) =>
            item.Answer.Count > 0 || item.Item.Exists(HasAnyAnswer);

        private void Error(IssueType code, string expression, string diagnostics) =>
            Issues.Add(new OperationOutcome.IssueComponent
            {
                Severity = OperationOutcome.IssueSeverity.Error,
                Code = code,
                Diagnostics = diagnostics,
                Expression = [expression],
            });
    }

    internal static bool AreEqual(DataType answer, DataType? expected) => expected switch
    {
        null => false,
        Coding e when answer is Coding a => a.Code == e.Code && (e.System is null || a.System == e.System),
        Quantity e when answer is Quantity a => a.Value == e.Value && a.Code == e.Code && a.System == e.System,
        ResourceReference e when answer is ResourceReference a => a.Reference == e.Reference,
        PrimitiveType e when answer is PrimitiveType a => Compare(a, e) is 0 || Equals(a.JsonValue, e.JsonValue),
        _ => false,
    };

    /// <summary>Orders two values of comparable types; null when they cannot be compared.</summary>
    internal static int? Compare(DataType left, DataType? right)
    {
        var l = FhirPathRuntime.ToDecimal(left);
        var r = FhirPathRuntime.ToDecimal(right);
        if (l is not null && r is not null)
        {
            return left is Quantity lq && right is Quantity rq && lq.Code != rq.Code ? null : l.Value.CompareTo(r.Value);
        }

        // ISO 8601 dates, dateTimes and times of the same precision order as strings.
        return (left, right) switch
        {
            (Date a, Date b) when a.Value?.Length == b.Value?.Length => string.CompareOrdinal(a.Value, b.Value),
            (FhirDateTime a, FhirDateTime b) => a.TryToDateTimeOffset(out var x) && b.TryToDateTimeOffset(out var y) ? x.CompareTo(y) : null,
            (FhirDateTime a, Date b) when a.Value?.Length == b.Value?.Length => string.CompareOrdinal(a.Value, b.Value),
            (Time a, Time b) => string.CompareOrdinal(a.Value, b.Value),
            (FhirString a, FhirString b) => string.CompareOrdinal(a.Value, b.Value),
            (FhirBoolean a, FhirBoolean b) => a.Value == b.Value ? 0 : null,
            _ => null,
        };
    }
}
