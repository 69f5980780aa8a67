using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Engagement.Intake;

/// <summary>
/// The inbox rows this process knows still need processing, each with when to try it: rows whose processing failed
/// here (tried again <see cref="IntakeOptions.RedriveAfter"/> later, the wait doubling with each further failure up to
/// <see cref="IntakeOptions.BackstopInterval"/>), rows whose queue message could not be sent, and rows the sweeper's
/// scans found (due at once). The sweeper works through what is due every <see cref="IntakeOptions.SweepInterval"/>.
/// Keeping this in memory is what lets the sweeper leave the whole-inbox scan for the backstop: a read of every row of
/// the inbox table, which on Azurite holds up the accept path's inserts (docs/reliability.md). Nothing here is
/// durable, nor needs to be: the inbox row is. A crashed process's rows are found by the next start's scan; rows beyond
/// <see cref="Capacity"/> by the backstop.
/// </summary>
public sealed class IntakeRetries(IOptions<IntakeOptions> options, TimeProvider time)
{
    /// <summary>Most rows held (a storage outage under load fails every row it meets); beyond it the backstop finds them.</summary>
    public const int Capacity = 100_000;

    private readonly ConcurrentDictionary<(string Source, string Key), Entry> entries = new();

    private sealed record Entry(IntakeWorkItem Item, DateTimeOffset Due, int Failures);

    public int Count => entries.Count;

    /// <summary>Whether the row is held here: the backstop's scan leaves it alone.</summary>
    public bool Contains(string source, string key) => entries.ContainsKey((source, key));

    /// <summary>When the row is next due; null when it is not held.</summary>
    public DateTimeOffset? DueAt(string source, string key) => entries.TryGetValue((source, key), out var entry) ? entry.Due : null;

    /// <summary>
    /// The row's processing failed (or its message could not be sent): try it again after the wait its failures have
    /// earned. False when <see cref="Capacity"/> rows are held already; the backstop then finds it.
    /// </summary>
    public bool Failed(IntakeWorkItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return Hold(item, failures => time.GetUtcNow() + Wait(failures), countsAsFailure: true);
    }

    /// <summary>A row a scan found pending that nobody here holds: due at once. False when full.</summary>
    public bool Found(IntakeWorkItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return Hold(item, _ => time.GetUtcNow(), countsAsFailure: false);
    }

    /// <summary>The rows due now, oldest due first, at most <paramref name="max"/>. They stay held until <see cref="Done"/> or <see cref="Failed"/>.</summary>
    public IReadOnlyList<IntakeWorkItem> Due(int max)
    {
        var now = time.GetUtcNow();
        return [.. entries.Values.Where(e => e.Due <= now).OrderBy(e => e.Due).Take(max).Select(e => e.Item)];
    }

    /// <summary>The row is processed (or was already): it is no longer held.</summary>
    public void Done(IntakeWorkItem item)
    {
        ArgumentNullException.ThrowIfNull(item);
        entries.TryRemove((item.Source, item.Key), out _);
    }

    /// <summary>The wait after the <paramref name="failures"/>-th failure in a row: RedriveAfter, doubling, at most the backstop's interval.</summary>
    public TimeSpan Wait(int failures)
    {
        var first = options.Value.RedriveAfter;
        var cap = options.Value.BackstopInterval;
        var wait = first * Math.Pow(2, Math.Clamp(failures - 1, 0, 30));
        return wait < cap ? wait : cap > first ? cap : first;
    }

    private bool Hold(IntakeWorkItem item, Func<int, DateTimeOffset> due, bool countsAsFailure)
    {
        // Held items are re-read from the inbox when tried (the row may be processed by then), and may have been routed
        // in part before: not the hand-off's stored row, not a first delivery.
        var held = item with { Row = null, FirstDelivery = false };
        var key = (item.Source, item.Key);
        while (true)
        {
            if (entries.TryGetValue(key, out var existing))
            {
                var failures = existing.Failures + (countsAsFailure ? 1 : 0);
                if (!countsAsFailure || entries.TryUpdate(key, existing with { Due = due(failures), Failures = failures }, existing))
                {
                    return true; // a scan finding a row already held leaves its due time as it is
                }

                continue;
            }

            if (entries.Count >= Capacity)
            {
                return false;
            }

            var first = countsAsFailure ? 1 : 0;
            if (entries.TryAdd(key, new Entry(held, due(first), first)))
            {
                return true;
            }
        }
    }
}
