using System.Text.Json;
using System.Text.Json.Serialization;

namespace Engagement.Outcomes;

/// <summary>One inclusive severity band of a total score.</summary>
public sealed record ScoreBand(decimal Low, decimal High, string Code)
{
    public bool Contains(decimal score) => score >= Low && score <= High;
}

/// <summary>A known total-score code, with the bands to use when the Questionnaire carries none.</summary>
public sealed record KnownScore(string System, string Code, string Instrument, IReadOnlyList<ScoreBand> Bands);

/// <summary>
/// The shipped table of total-score codes (<c>Outcomes/score-codes.json</c>, embedded). A decimal/integer item
/// coded with one of these and without a calculatedExpression is filled with the sum of ordinal values.
/// </summary>
public static class ScoreCodes
{
    private static readonly Lazy<IReadOnlyDictionary<string, KnownScore>> Table = new(Load);

    public static IReadOnlyCollection<KnownScore> All => (IReadOnlyCollection<KnownScore>)Table.Value.Values;

    public static KnownScore? Find(string? system, string? code) =>
        code is not null && Table.Value.TryGetValue(Key(system, code), out var known) ? known : null;

    private static string Key(string? system, string code) => (system ?? OutcomeUrls.Loinc) + "|" + code;

    private static Dictionary<string, KnownScore> Load()
    {
        using var stream = typeof(ScoreCodes).Assembly.GetManifestResourceStream("Engagement.Outcomes.score-codes.json")
            ?? throw new InvalidOperationException("Embedded score-codes.json is missing.");
        var file = JsonSerializer.Deserialize<ScoreFile>(stream, JsonOptions)
            ?? throw new InvalidOperationException("score-codes.json is empty.");
        return file.Scores.ToDictionary(
            s => Key(s.System, s.Code),
            s => new KnownScore(s.System, s.Code, s.Instrument, s.Bands.Select(b => new ScoreBand(b.Low, b.High, b.Code)).ToArray()),
            StringComparer.Ordinal);
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNameCaseInsensitive = true };

    private sealed record ScoreFile([property: JsonPropertyName("scores")] List<ScoreEntry> Scores);

    private sealed record ScoreEntry(string System, string Code, string Instrument, List<BandEntry> Bands);

    private sealed record BandEntry(decimal Low, decimal High, string Code);
}
