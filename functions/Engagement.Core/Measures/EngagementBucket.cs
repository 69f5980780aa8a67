using System.Globalization;

namespace Engagement.Measures;

/// <summary>
/// The counters of one aggregate bucket (a day, a protocol, a questionnaire and a cohort): one counter per event kind,
/// and two minute histograms with fixed edges (<see cref="MinuteEdges"/>), so buckets merge by addition and medians and
/// 90th percentiles come from the merged histogram, never from the raw events.
/// </summary>
public sealed class EngagementBucket
{
    /// <summary>Upper bucket edges in minutes (inclusive); a last open bucket holds everything above.</summary>
    public static readonly IReadOnlyList<double> MinuteEdges = [1, 5, 15, 30, 60, 120, 240, 480, 720, 1440, 2880, 4320, 10080];

    public const string RespondHistogram = "Ttr";
    public const string AcknowledgeHistogram = "Ack";

    public Dictionary<string, long> Counts { get; } = new(StringComparer.Ordinal);

    public long[] RespondMinutes { get; } = new long[MinuteEdges.Count + 1];

    public long[] AcknowledgeMinutes { get; } = new long[MinuteEdges.Count + 1];

    public double ScoreSum { get; set; }

    public long Count(string kind) => Counts.GetValueOrDefault(kind);

    public void Apply(EngagementEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        Counts[e.Kind] = Count(e.Kind) + 1;
        if (e.Minutes is { } minutes)
        {
            if (e.Kind == EngagementEventKinds.ResponseReceived)
            {
                RespondMinutes[BinOf(minutes)]++;
            }
            else if (e.Kind == EngagementEventKinds.RedFlagAcknowledged)
            {
                AcknowledgeMinutes[BinOf(minutes)]++;
            }
        }

        if (e.Kind == EngagementEventKinds.ResponseReceived && e.Score is { } score)
        {
            Counts["scored"] = Count("scored") + 1;
            ScoreSum += (double)score;
        }
    }

    public void Add(EngagementBucket other)
    {
        ArgumentNullException.ThrowIfNull(other);
        foreach (var (kind, count) in other.Counts)
        {
            Counts[kind] = Count(kind) + count;
        }

        for (var i = 0; i < RespondMinutes.Length; i++)
        {
            RespondMinutes[i] += other.RespondMinutes[i];
            AcknowledgeMinutes[i] += other.AcknowledgeMinutes[i];
        }

        ScoreSum += other.ScoreSum;
    }

    public static int BinOf(double minutes)
    {
        for (var i = 0; i < MinuteEdges.Count; i++)
        {
            if (minutes <= MinuteEdges[i])
            {
                return i;
            }
        }

        return MinuteEdges.Count;
    }

    /// <summary>
    /// The quantile (0..1) of a histogram, in minutes: the upper edge of the bin holding that rank (the open last bin
    /// reports its lower edge). Null for an empty histogram. Resolution is the bin width, by design.
    /// </summary>
    public static double? Quantile(IReadOnlyList<long> histogram, double q)
    {
        ArgumentNullException.ThrowIfNull(histogram);
        var total = histogram.Sum();
        if (total == 0)
        {
            return null;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(q * total));
        long seen = 0;
        for (var i = 0; i < histogram.Count; i++)
        {
            seen += histogram[i];
            if (seen >= rank)
            {
                return i < MinuteEdges.Count ? MinuteEdges[i] : MinuteEdges[^1];
            }
        }

        return MinuteEdges[^1];
    }

    /// <summary>Table property names: counters as <c>C_{kind}</c> (dashes become underscores), histograms as <c>Ttr{n}</c>, <c>Ack{n}</c>.</summary>
    public static string CounterProperty(string kind) => "C_" + kind.Replace('-', '_');

    public static string KindOfProperty(string property) => property[2..].Replace('_', '-');

    public static string HistogramProperty(string prefix, int bin) => prefix + bin.ToString(CultureInfo.InvariantCulture);
}
