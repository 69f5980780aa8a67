using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace Engagement.Measures;

/// <summary>
/// The aggregates of one protocol over some days: per kind of activity (with a Questionnaire or not) a total bucket and
/// one bucket per value of each dimension — age band, language, channel and the Questionnaire (its canonical URL, "-"
/// for activities without one) — (the margins — reports stratify by one dimension at a time, never by
/// the cross product), and optionally per-day totals for the series. Buckets add, so a month's aggregate is the sum of
/// its days' and a period's is the sum of its months' and days'. Stored as compact JSON in one table property
/// (docs/adr/0005-measures-layout.md).
/// </summary>
public sealed class EngagementAggregate
{
    /// <summary>The total's dimension name.</summary>
    public const string Total = "";

    public static readonly IReadOnlyList<string> Dimensions = ["age-band", "language", "channel", "questionnaire"];

    /// <summary>Margins: (questionnaire?, dimension, value) → bucket; the total has dimension <see cref="Total"/> and value "".</summary>
    public Dictionary<MarginKey, EngagementBucket> Margins { get; } = [];

    /// <summary>Per-day totals (day of month or day number, questionnaire?) → bucket; empty when not kept.</summary>
    public SortedDictionary<(int Day, bool Questionnaire), EngagementBucket> Days { get; } = [];

    public bool IsEmpty => Margins.Count == 0 && Days.Count == 0;

    /// <summary>Counts <paramref name="e"/> (its dimensions already completed) in the margins and, when <paramref name="day"/> is given, in that day's total.</summary>
    public void Apply(EngagementEvent e, int? day)
    {
        ArgumentNullException.ThrowIfNull(e);
        var questionnaire = IsQuestionnaire(e.Questionnaire);
        Bucket(new MarginKey(questionnaire, Total, "")).Apply(e);
        Bucket(new MarginKey(questionnaire, "age-band", e.AgeBand ?? Cohorts.Unknown)).Apply(e);
        Bucket(new MarginKey(questionnaire, "language", e.Language ?? Cohorts.Unknown)).Apply(e);
        Bucket(new MarginKey(questionnaire, "channel", e.Channel ?? Cohorts.Unknown)).Apply(e);
        Bucket(new MarginKey(questionnaire, "questionnaire", questionnaire ? e.Questionnaire! : "-")).Apply(e);
        if (day is { } d)
        {
            DayBucket(d, questionnaire).Apply(e);
        }
    }

    /// <summary>Adds <paramref name="other"/>'s margins; its days are added under <paramref name="dayOffset"/> + their day.</summary>
    public void Add(EngagementAggregate other, int dayOffset = 0, bool days = true)
    {
        ArgumentNullException.ThrowIfNull(other);
        foreach (var (key, bucket) in other.Margins)
        {
            Bucket(key).Add(bucket);
        }

        if (days)
        {
            foreach (var ((day, questionnaire), bucket) in other.Days)
            {
                DayBucket(dayOffset + day, questionnaire).Add(bucket);
            }
        }
    }

    /// <summary>Adds a single day's margins as that day's totals too (a day row read for part of a month).</summary>
    public void AddDay(EngagementAggregate dayMargins, int day)
    {
        ArgumentNullException.ThrowIfNull(dayMargins);
        Add(dayMargins, days: false);
        foreach (var (key, bucket) in dayMargins.Margins)
        {
            if (key.Dimension == Total)
            {
                DayBucket(day, key.Questionnaire).Add(bucket);
            }
        }
    }

    public EngagementBucket Bucket(MarginKey key)
    {
        if (!Margins.TryGetValue(key, out var bucket))
        {
            Margins[key] = bucket = new EngagementBucket();
        }

        return bucket;
    }

    public EngagementBucket DayBucket(int day, bool questionnaire)
    {
        if (!Days.TryGetValue((day, questionnaire), out var bucket))
        {
            Days[(day, questionnaire)] = bucket = new EngagementBucket();
        }

        return bucket;
    }

    public static bool IsQuestionnaire(string? questionnaire) => !string.IsNullOrEmpty(questionnaire) && questionnaire != "-";

    /// <summary>Compact JSON: <c>{"m":[[q,dim,value,bucket],…],"d":[[day,q,bucket],…]}</c>, buckets with their non-zero parts only.</summary>
    public byte[] ToUtf8Json()
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("m");
            foreach (var (key, bucket) in Margins.OrderBy(m => m.Key.Questionnaire).ThenBy(m => m.Key.Dimension, StringComparer.Ordinal).ThenBy(m => m.Key.Value, StringComparer.Ordinal))
            {
                json.WriteStartArray();
                json.WriteNumberValue(key.Questionnaire ? 1 : 0);
                json.WriteStringValue(key.Dimension);
                json.WriteStringValue(key.Value);
                WriteBucket(json, bucket);
                json.WriteEndArray();
            }

            json.WriteEndArray();
            if (Days.Count > 0)
            {
                json.WriteStartArray("d");
                foreach (var ((day, questionnaire), bucket) in Days)
                {
                    json.WriteStartArray();
                    json.WriteNumberValue(day);
                    json.WriteNumberValue(questionnaire ? 1 : 0);
                    WriteBucket(json, bucket);
                    json.WriteEndArray();
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static EngagementAggregate FromUtf8Json(ReadOnlySpan<byte> utf8)
    {
        var aggregate = new EngagementAggregate();
        if (utf8.IsEmpty)
        {
            return aggregate;
        }

        var reader = new Utf8JsonReader(utf8);
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        if (root.TryGetProperty("m", out var margins))
        {
            foreach (var m in margins.EnumerateArray())
            {
                aggregate.Bucket(new MarginKey(m[0].GetInt32() == 1, m[1].GetString() ?? "", m[2].GetString() ?? "")).Add(ReadBucket(m[3]));
            }
        }

        if (root.TryGetProperty("d", out var days))
        {
            foreach (var d in days.EnumerateArray())
            {
                aggregate.DayBucket(d[0].GetInt32(), d[1].GetInt32() == 1).Add(ReadBucket(d[2]));
            }
        }

        return aggregate;
    }

    private static void WriteBucket(Utf8JsonWriter json, EngagementBucket bucket)
    {
        json.WriteStartObject();
        foreach (var (kind, count) in bucket.Counts.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            if (count != 0)
            {
                json.WriteNumber(kind, count);
            }
        }

        WriteHistogram(json, "~t", bucket.RespondMinutes);
        WriteHistogram(json, "~a", bucket.AcknowledgeMinutes);
        if (bucket.ScoreSum != 0)
        {
            json.WriteNumber("~s", bucket.ScoreSum);
        }

        json.WriteEndObject();
    }

    private static void WriteHistogram(Utf8JsonWriter json, string name, long[] histogram)
    {
        if (histogram.All(c => c == 0))
        {
            return;
        }

        json.WriteStartArray(name);
        foreach (var count in histogram)
        {
            json.WriteNumberValue(count);
        }

        json.WriteEndArray();
    }

    private static EngagementBucket ReadBucket(JsonElement element)
    {
        var bucket = new EngagementBucket();
        foreach (var property in element.EnumerateObject())
        {
            switch (property.Name)
            {
                case "~t":
                    ReadHistogram(property.Value, bucket.RespondMinutes);
                    break;
                case "~a":
                    ReadHistogram(property.Value, bucket.AcknowledgeMinutes);
                    break;
                case "~s":
                    bucket.ScoreSum = property.Value.GetDouble();
                    break;
                default:
                    bucket.Counts[property.Name] = property.Value.GetInt64();
                    break;
            }
        }

        return bucket;
    }

    private static void ReadHistogram(JsonElement element, long[] histogram)
    {
        var i = 0;
        foreach (var count in element.EnumerateArray())
        {
            if (i < histogram.Length)
            {
                histogram[i++] = count.GetInt64();
            }
        }
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Margins.Count} margins, {Days.Count} day totals");
}

/// <summary>A margin: activities with a Questionnaire or not, and one cohort dimension's value (or the total).</summary>
public readonly record struct MarginKey(bool Questionnaire, string Dimension, string Value);
