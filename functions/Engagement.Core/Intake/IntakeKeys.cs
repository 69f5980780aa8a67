using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Engagement.Intake;

/// <summary>
/// Deterministic keys: 32 lowercase hex digits of SHA-256 over length-prefixed parts. The same delivery always gets the
/// same key, keys reveal nothing (resource ids and subscription URLs stay out of table keys) and are safe in table keys.
/// </summary>
public static class IntakeKeys
{
    public static string For(params string?[] parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        var text = new StringBuilder();
        foreach (var part in parts)
        {
            var value = part ?? "\0";
            text.Append(value.Length).Append(':').Append(value).Append(';');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())).AsSpan(0, 16));
    }

    public static string ForBytes(ReadOnlySpan<byte> body) => Convert.ToHexStringLower(SHA256.HashData(body).AsSpan(0, 16));

    /// <summary>How many partitions a source's rows are spread over in the inbox and the event journal.</summary>
    public const int Buckets = 8;

    private const char Separator = '|';

    /// <summary>
    /// The partition of a source's row with this key: <c>{source}|{bucket}</c>. Spread, not one partition per source:
    /// a partition is served by one server (about 2,000 entities/s in Azure Table storage), and in Azurite every point
    /// read or write scans its row's whole partition, so a single partition that grows with every delivery made each
    /// call slower. Deterministic: a redelivery meets its first delivery's row.
    /// </summary>
    public static string Partition(string source, string key)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(key);
        return source + Separator + (key[^1] % Buckets).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The source of a row's partition (rows of earlier versions are partitioned by the source alone).</summary>
    public static string SourceOf(string partition)
    {
        ArgumentNullException.ThrowIfNull(partition);
        var separator = partition.LastIndexOf(Separator);
        return separator < 0 ? partition : partition[..separator];
    }

    /// <summary>An OData filter matching every partition of <paramref name="source"/>, the earlier single one included.</summary>
    public static string PartitionsFilter(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        // '}' follows '|': the range holds exactly the partitions "{source}|…".
        return TableClientFilter($"(PartitionKey eq {source} or (PartitionKey ge {source + Separator} and PartitionKey lt {source + '}'}))");
    }

    private static string TableClientFilter(FormattableString filter) => Azure.Data.Tables.TableClient.CreateQueryFilter(filter);
}
