using System.Collections.Concurrent;

namespace Engagement.Intake;

/// <summary>
/// Whether intake is behind at a source: a delivery acknowledged before a given moment (and within
/// <see cref="StuckAfter"/>) is still unprocessed in the inbox. Gap detection asks before it declares a missing event
/// number a gap: while our own backlog is older than the grace period, the missing number may be a notification we
/// acknowledged and have not processed yet (the soak found thousands of such "gaps", each fetched from the EHR through
/// <c>$events</c> when it has a FHIR base URL). A "behind" answer is cached for <see cref="CacheFor"/> per source: it is
/// asked for every processed notification while numbers are overdue, and a row pending before one cutoff is pending
/// before every later one until it is processed (so reusing it only delays a declaration). A "not behind" answer is never
/// reused: it holds for its own cutoff only — a row acknowledged just after it can be overdue a second later (the soak
/// declared five gaps that way, for none lost) — and it is followed by the declaration, which ends the asking.
/// </summary>
public sealed class IntakeBacklog(InboxStore inbox, TimeProvider time)
{
    /// <summary>How long one answer is reused.</summary>
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);

    /// <summary>A row unprocessed for longer than this is taken for stuck (its source removed, a poison body), not for backlog.</summary>
    public static readonly TimeSpan StuckAfter = TimeSpan.FromHours(1);

    private readonly ConcurrentDictionary<string, DateTimeOffset> answers = new(StringComparer.Ordinal);

    /// <summary>True when a delivery from <paramref name="source"/> acknowledged before <paramref name="acknowledgedBefore"/> is still unprocessed.</summary>
    public async Task<bool> IsBehindAsync(string source, DateTimeOffset acknowledgedBefore, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (answers.TryGetValue(source, out var behindAt) && now - behindAt < CacheFor)
        {
            return true;
        }

        var behind = await inbox.HasUnprocessedAsync(source, now - StuckAfter, acknowledgedBefore, cancellationToken);
        if (behind)
        {
            answers[source] = now;
        }
        else
        {
            answers.TryRemove(source, out _);
        }

        return behind;
    }
}
