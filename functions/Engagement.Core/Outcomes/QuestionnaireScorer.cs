using System.Globalization;
using Hl7.Fhir.Model;
using ItemType = Hl7.Fhir.Model.Questionnaire.QuestionnaireItemType;

namespace Engagement.Outcomes;

/// <summary>The scored copy of a response, its total score and the severity band the total falls in.</summary>
public sealed record ScoreResult(QuestionnaireResponse Scored, decimal? TotalScore, string? Band);

/// <summary>
/// Scores a QuestionnaireResponse on a copy: answer weights come from <c>ordinalValue</c> / <c>itemWeight</c> on the
/// matching answerOption, else from the CodeSystem concept's <c>itemWeight</c>/<c>ordinalValue</c> property (or
/// extension). Computed items are then filled in Questionnaire order, overwriting whatever the client sent:
/// SDC <c>calculatedExpression</c> (FHIRPath with <c>%resource</c>, <c>%questionnaire</c> and variables in scope);
/// a known total-score code without an expression gets the sum of the weights; other readOnly items get their
/// <c>initial</c> value or nothing.
/// </summary>
public sealed class QuestionnaireScorer
{
    private readonly ICodeSystemResolver _codeSystems;

    public QuestionnaireScorer(ICodeSystemResolver? codeSystems = null)
    {
        _codeSystems = codeSystems ?? NoTerminology.Instance;
    }

    public ScoreResult Score(Questionnaire questionnaire, QuestionnaireResponse response)
    {
        ArgumentNullException.ThrowIfNull(questionnaire);
        ArgumentNullException.ThrowIfNull(response);
        return Score(CompiledQuestionnaire.For(questionnaire), response);
    }

    internal ScoreResult Score(CompiledQuestionnaire questionnaire, QuestionnaireResponse response)
    {
        var scored = (QuestionnaireResponse)response.DeepCopy();
        var ordinalSum = SumWeights(scored.Item, questionnaire.Roots);
        decimal? total = null;

        foreach (var definition in questionnaire.PreOrder)
        {
            if (!definition.IsComputed)
            {
                continue;
            }

            DataType[] values;
            if (definition.Calculated is { } expression)
            {
                var value = new ResponseScope(questionnaire, scored).Scalar(expression, definition);
                values = ToAnswer(value, definition) is { } answer ? [answer] : [];
            }
            else if (definition.IsOrdinalSum)
            {
                values = [ToAnswer(ordinalSum, definition)!];
            }
            else
            {
                values = definition.Item.Initial.Select(i => i.Value).OfType<DataType>().ToArray();
            }

            Write(scored, definition, values, questionnaire.Roots);
            if (definition == questionnaire.ScoreItem)
            {
                total = values.Length == 1 ? FhirPathRuntime.ToDecimal(values[0]) : null;
            }
        }

        var band = total is { } t ? questionnaire.ScoreItem?.Bands.FirstOrDefault(b => b.Contains(t))?.Code : null;
        return new ScoreResult(scored, total, band);
    }

    private decimal SumWeights(List<QuestionnaireResponse.ItemComponent> items, IReadOnlyList<CompiledItem> definitions)
    {
        var sum = 0m;
        foreach (var item in items)
        {
            var definition = definitions.FirstOrDefault(d => d.LinkId == item.LinkId);
            if (definition is null)
            {
                continue;
            }

            sum += SumWeights(item.Item, definition.Children);
            foreach (var answer in item.Answer)
            {
                if (!definition.IsComputed && answer.Value is { } value)
                {
                    sum += definition.OptionWeight(value) ?? ConceptWeight(value) ?? 0m;
                }

                sum += SumWeights(answer.Item, definition.Children);
            }
        }

        return sum;
    }

    private decimal? ConceptWeight(DataType value)
    {
        if (value is not Coding { System: { } system, Code: { } code })
        {
            return null;
        }

        var concept = Find(_codeSystems.ResolveCodeSystem(system)?.Concept, code);
        if (concept is null)
        {
            return null;
        }

        foreach (var property in concept.Property)
        {
            if (property.Code is "itemWeight" or "ordinalValue" or "weight" && FhirPathRuntime.ToDecimal(property.Value) is { } weight)
            {
                return weight;
            }
        }

        return FhirPathRuntime.ToDecimal(concept.GetExtensionValue<DataType>(OutcomeUrls.ItemWeight))
            ?? FhirPathRuntime.ToDecimal(concept.GetExtensionValue<DataType>(OutcomeUrls.OrdinalValue));
    }

    private static CodeSystem.ConceptDefinitionComponent? Find(List<CodeSystem.ConceptDefinitionComponent>? concepts, string code)
    {
        foreach (var concept in concepts ?? [])
        {
            if (concept.Code == code)
            {
                return concept;
            }

            if (Find(concept.Concept, code) is { } nested)
            {
                return nested;
            }
        }

        return null;
    }

    private static DataType? ToAnswer(object? value, CompiledItem definition)
    {
        if (value is null)
        {
            return null;
        }

        var number = FhirPathRuntime.ToDecimal(value);
        return definition.Type switch
        {
            ItemType.Integer when number is { } n => new Integer((int)Math.Round(n, MidpointRounding.AwayFromZero)),
            ItemType.Decimal when number is { } n => new FhirDecimal(n),
            ItemType.Boolean when value is bool b => new FhirBoolean(b),
            ItemType.String or ItemType.Text => new FhirString(Convert.ToString(value, CultureInfo.InvariantCulture)),
            _ when value is DataType data => data,
            _ => throw new InvalidOperationException($"calculatedExpression of '{definition.LinkId}' returned a {value.GetType().Name}, which does not fit item type {definition.Type}."),
        };
    }

    /// <summary>Sets the item's answers wherever it occurs; adds a missing root-level item in Questionnaire order.</summary>
    private static void Write(QuestionnaireResponse response, CompiledItem definition, DataType[] values, IReadOnlyList<CompiledItem> roots)
    {
        var occurrences = Occurrences(response.Item, definition.LinkId).ToList();
        foreach (var item in occurrences)
        {
            item.Answer = Answers(values);
        }

        if (occurrences.Count > 0 || definition.Parent is not null || values.Length == 0)
        {
            return;
        }

        var position = IndexOf(roots, definition.LinkId);
        var index = response.Item.FindIndex(i => IndexOf(roots, i.LinkId) > position);
        response.Item.Insert(index < 0 ? response.Item.Count : index, new QuestionnaireResponse.ItemComponent
        {
            LinkId = definition.LinkId,
            Text = definition.Item.Text,
            Answer = Answers(values),
        });
    }

    private static List<QuestionnaireResponse.AnswerComponent> Answers(DataType[] values) =>
        values.Select(v => new QuestionnaireResponse.AnswerComponent { Value = (DataType)v.DeepCopy() }).ToList();

    private static int IndexOf(IReadOnlyList<CompiledItem> roots, string? linkId)
    {
        for (var i = 0; i < roots.Count; i++)
        {
            if (roots[i].LinkId == linkId)
            {
                return i;
            }
        }

        return -1;
    }

    private static IEnumerable<QuestionnaireResponse.ItemComponent> Occurrences(List<QuestionnaireResponse.ItemComponent> items, string linkId)
    {
        foreach (var item in items)
        {
            if (item.LinkId == linkId)
            {
                yield return item;
            }

            foreach (var nested in Occurrences(item.Item, linkId))
            {
                yield return nested;
            }

            foreach (var answer in item.Answer)
            {
                foreach (var nested in Occurrences(answer.Item, linkId))
                {
                    yield return nested;
                }
            }
        }
    }
}
