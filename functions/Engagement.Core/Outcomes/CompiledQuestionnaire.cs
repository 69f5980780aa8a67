using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Hl7.Fhir.Model;
using Hl7.FhirPath;

namespace Engagement.Outcomes;

/// <summary>A FHIRPath variable (SDC <c>variable</c> extension).</summary>
internal sealed record CompiledVariable(string Name, FhirPathExpression Expression);

/// <summary>A red-flag rule read from the Questionnaire's red-flag extension.</summary>
internal sealed record CompiledRedFlag(FhirPathExpression Expression, string Priority, Coding Code, string Description);

/// <summary>One Questionnaire item with everything the engine needs precomputed.</summary>
internal sealed class CompiledItem
{
    private readonly Dictionary<string, decimal?> _optionWeights = new(StringComparer.Ordinal);
    private readonly HashSet<string> _optionKeys = new(StringComparer.Ordinal);

    public CompiledItem(Questionnaire.ItemComponent item, CompiledItem? parent)
    {
        Item = item;
        Parent = parent;
        LinkId = item.LinkId ?? throw new InvalidOperationException("A Questionnaire item has no linkId.");
        Type = item.Type ?? throw new InvalidOperationException($"Questionnaire item '{LinkId}' has no type.");
        Repeats = item.Repeats == true;
        Required = item.Required == true;
        ReadOnly = item.ReadOnly == true;
        EnableWhenExpression = ExpressionOf(item, OutcomeUrls.EnableWhenExpression, $"item '{LinkId}'");
        Calculated = ExpressionOf(item, OutcomeUrls.CalculatedExpression, $"item '{LinkId}'");
        Variables = VariablesOf(item.Extension, $"item '{LinkId}'");
        MinValue = item.GetExtensionValue<DataType>(OutcomeUrls.MinValue);
        MaxValue = item.GetExtensionValue<DataType>(OutcomeUrls.MaxValue);
        MinLength = item.GetExtensionValue<Integer>(OutcomeUrls.MinLength)?.Value;
        var regex = item.GetExtensionValue<FhirString>(OutcomeUrls.Regex)?.Value;
        Pattern = regex is null ? null : new Regex("^(?:" + regex + ")$", RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(50));

        foreach (var option in item.AnswerOption)
        {
            if (option.Value is null)
            {
                continue;
            }

            var key = AnswerKeys.Of(option.Value);
            _optionKeys.Add(key);
            _optionWeights[key] = Weight(option) ?? Weight(option.Value);
            OptionTypes.Add(option.Value.GetType());
        }

        var isNumber = Type is Questionnaire.QuestionnaireItemType.Integer or Questionnaire.QuestionnaireItemType.Decimal;
        Known = isNumber ? item.Code.Select(c => ScoreCodes.Find(c.System, c.Code)).FirstOrDefault(k => k is not null) : null;
        IsOrdinalSum = Known is not null && Calculated is null;
        Bands = BandsOf(item) ?? Known?.Bands ?? [];
        Children = item.Item.Select(child => new CompiledItem(child, this)).ToArray();
    }

    public Questionnaire.ItemComponent Item { get; }
    public CompiledItem? Parent { get; }
    public string LinkId { get; }
    public Questionnaire.QuestionnaireItemType Type { get; }
    public bool Repeats { get; }
    public bool Required { get; }
    public bool ReadOnly { get; }
    public FhirPathExpression? EnableWhenExpression { get; }
    public FhirPathExpression? Calculated { get; }
    public IReadOnlyList<CompiledVariable> Variables { get; }
    public DataType? MinValue { get; }
    public DataType? MaxValue { get; }
    public int? MinLength { get; }
    public Regex? Pattern { get; }
    public HashSet<Type> OptionTypes { get; } = [];
    public KnownScore? Known { get; }
    public IReadOnlyList<ScoreBand> Bands { get; }
    public IReadOnlyList<CompiledItem> Children { get; }

    /// <summary>A total-score item of a known code without an expression: filled with the sum of ordinal values.</summary>
    public bool IsOrdinalSum { get; }

    /// <summary>Items whose answers we compute and never take from the client.</summary>
    public bool IsComputed => Calculated is not null || IsOrdinalSum || ReadOnly;

    public bool IsQuestion => Type is not (Questionnaire.QuestionnaireItemType.Group or Questionnaire.QuestionnaireItemType.Display);

    public bool HasOptions => _optionKeys.Count > 0;

    public bool HasOption(DataType value) => _optionKeys.Contains(AnswerKeys.Of(value));

    /// <summary>The ordinalValue/itemWeight of the matching answer option, when it has one.</summary>
    public decimal? OptionWeight(DataType value) =>
        _optionWeights.TryGetValue(AnswerKeys.Of(value), out var weight) ? weight : null;

    private static decimal? Weight(IExtendable element) =>
        (element.GetExtensionValue<DataType>(OutcomeUrls.OrdinalValue) ?? element.GetExtensionValue<DataType>(OutcomeUrls.ItemWeight)) switch
        {
            FhirDecimal d => d.Value,
            Integer i => i.Value,
            _ => null,
        };

    private static ScoreBand[]? BandsOf(Questionnaire.ItemComponent item)
    {
        var bands = item.GetExtensions(OutcomeUrls.ScoreBand)
            .Select(e => new ScoreBand(
                Number(e.GetExtensionValue<DataType>("low")) ?? decimal.MinValue,
                Number(e.GetExtensionValue<DataType>("high")) ?? decimal.MaxValue,
                e.GetExtensionValue<Coding>("code")?.Code ?? e.GetExtensionValue<FhirString>("code")?.Value ?? "unnamed"))
            .ToArray();
        return bands.Length == 0 ? null : bands;
    }

    private static decimal? Number(DataType? value) => FhirPathRuntime.ToDecimal(value);

    internal static FhirPathExpression? ExpressionOf(IExtendable element, string url, string where)
    {
        var expression = element.GetExtensionValue<Expression>(url);
        return expression is null || !IsFhirPath(expression) || string.IsNullOrWhiteSpace(expression.Expression_)
            ? null
            : FhirPathRuntime.Compile(expression.Expression_, $"{where} ({url})");
    }

    internal static IReadOnlyList<CompiledVariable> VariablesOf(IEnumerable<Extension> extensions, string where)
    {
        var variables = new List<CompiledVariable>();
        foreach (var extension in extensions)
        {
            if (extension.Url == OutcomeUrls.Variable && extension.Value is Expression { Name: { } name, Expression_: { } text } x && IsFhirPath(x))
            {
                variables.Add(new CompiledVariable(name, FhirPathRuntime.Compile(text, $"variable '{name}' of {where}")));
            }
        }

        return variables;
    }

    private static bool IsFhirPath(Expression expression) =>
        expression.Language is null or "text/fhirpath";
}

/// <summary>Keys that identify an answer value for option membership and weights.</summary>
internal static class AnswerKeys
{
    public static string Of(DataType value) => value switch
    {
        Coding c => "c|" + (c.System ?? string.Empty) + "|" + c.Code,
        Integer i => "i|" + i.Value?.ToString(CultureInfo.InvariantCulture),
        FhirString s => "s|" + s.Value,
        Date d => "d|" + d.Value,
        Time t => "t|" + t.Value,
        ResourceReference r => "r|" + r.Reference,
        _ => "?|" + value.TypeName + "|" + value,
    };
}

/// <summary>
/// A Questionnaire compiled once: item tree, linkId index, FHIRPath delegates. Cached per Questionnaire instance,
/// so a Questionnaire must not be edited after it has been processed (load a new instance instead).
/// </summary>
internal sealed class CompiledQuestionnaire
{
    private static readonly ConditionalWeakTable<Questionnaire, CompiledQuestionnaire> Cache = new();

    private CompiledQuestionnaire(Questionnaire questionnaire)
    {
        Questionnaire = questionnaire;
        QuestionnaireNode = FhirPathRuntime.Node(questionnaire);
        Roots = questionnaire.Item.Select(item => new CompiledItem(item, null)).ToArray();
        var byLinkId = new Dictionary<string, CompiledItem>(StringComparer.Ordinal);
        foreach (var item in PreOrder)
        {
            if (!byLinkId.TryAdd(item.LinkId, item))
            {
                throw new InvalidOperationException($"Questionnaire linkId '{item.LinkId}' is not unique.");
            }
        }

        ByLinkId = byLinkId;
        Variables = CompiledItem.VariablesOf(questionnaire.Extension, "the Questionnaire");
        RedFlags = questionnaire.GetExtensions(OutcomeUrls.RedFlag).Select(ReadRedFlag).ToArray();
        ScoreItem = PreOrder.FirstOrDefault(i => i.Known is not null)
            ?? PreOrder.FirstOrDefault(i => i.Calculated is not null && i.Type is Questionnaire.QuestionnaireItemType.Integer or Questionnaire.QuestionnaireItemType.Decimal);
    }

    public Questionnaire Questionnaire { get; }
    public PocoNode QuestionnaireNode { get; }
    public IReadOnlyList<CompiledItem> Roots { get; }
    public IReadOnlyDictionary<string, CompiledItem> ByLinkId { get; }
    public IReadOnlyList<CompiledVariable> Variables { get; }
    public IReadOnlyList<CompiledRedFlag> RedFlags { get; }

    /// <summary>The item holding the total score: a known total-score code first, else the first calculated number.</summary>
    public CompiledItem? ScoreItem { get; }

    public IEnumerable<CompiledItem> PreOrder => Roots.SelectMany(Flatten);

    public static CompiledQuestionnaire For(Questionnaire questionnaire)
    {
        ArgumentNullException.ThrowIfNull(questionnaire);
        return Cache.GetValue(questionnaire, static q => new CompiledQuestionnaire(q));
    }

    private static IEnumerable<CompiledItem> Flatten(CompiledItem item) => item.Children.SelectMany(Flatten).Prepend(item);

    private static CompiledRedFlag ReadRedFlag(Extension extension, int index)
    {
        var expression = extension.GetExtensionValue<Expression>("expression")?.Expression_
            ?? throw new InvalidOperationException($"red-flag[{index}] has no expression.");
        return new CompiledRedFlag(
            FhirPathRuntime.Compile(expression, $"red-flag[{index}]"),
            extension.GetExtensionValue<Code>("priority")?.Value ?? "routine",
            extension.GetExtensionValue<Coding>("code") ?? new Coding(OutcomeUrls.CanonicalBase + "/CodeSystem/red-flag", "unspecified"),
            extension.GetExtensionValue<FhirString>("description")?.Value ?? string.Empty);
    }
}
