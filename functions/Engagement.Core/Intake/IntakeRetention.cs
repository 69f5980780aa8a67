using Engagement.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Engagement.Intake;

/// <summary>
/// Deletes processed inbox rows and event journal rows older than <see cref="IntakeOptions.Retention"/>, with their
/// blobs. Without it both tables grow with every delivery ever received (4.3 million rows a day at 50 notifications/s),
/// and what reads them whole grows with them: the sweeper's backstop scan, the gap check's look at a source's backlog,
/// and on Azurite every point operation in a source's partition (docs/reliability.md). A processed row keeps no body
/// (the mark drops it), but its blob, if it had one, and the journal's copy of the resource are the EHR's data: kept no
/// longer than needed. Pending rows stay whatever their age; they are acknowledged work. Every instance sweeps; the
/// deletes are conditional and idempotent, so two sweeps at once delete each row once.
/// </summary>
public sealed class IntakeRetention(InboxStore inbox, EventJournal journal, IOptions<IntakeOptions> options, TimeProvider time, ILogger<IntakeRetention> logger)
{
    /// <summary>One sweep. Returns how many inbox and journal rows it deleted (none when retention is off).</summary>
    public async Task<(int InboxRows, int JournalRows)> DeleteExpiredAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Retention <= TimeSpan.Zero)
        {
            return (0, 0);
        }

        var cutoff = time.GetUtcNow() - options.Value.Retention;
        var started = time.GetTimestamp();
        var inboxRows = await inbox.DeleteProcessedBeforeAsync(cutoff, cancellationToken);
        var journalRows = await journal.DeleteRecordedBeforeAsync(cutoff, cancellationToken);
        if (inboxRows > 0 || journalRows > 0)
        {
            logger.LogInformation("Intake retention deleted {InboxRows} processed inbox rows and {JournalRows} journal rows older than {Cutoff:o} in {ElapsedMs:0} ms",
                inboxRows, journalRows, cutoff, time.GetElapsedTime(started).TotalMilliseconds);
        }

        return (inboxRows, journalRows);
    }
}

/// <summary>Both hosts: runs <see cref="IntakeRetention"/> every <see cref="IntakeOptions.RetentionInterval"/> where intake processes.</summary>
public sealed class IntakeRetentionLoop(IntakeRetention retention, IOptions<IntakeOptions> options, ILogger<IntakeRetentionLoop> logger)
    : PeriodicBackgroundService(logger)
{
    protected override TimeSpan Interval => options.Value.RetentionInterval > TimeSpan.Zero ? options.Value.RetentionInterval : TimeSpan.FromHours(1);

    protected override string Work => "Intake retention";

    protected override Task RunOnceAsync(CancellationToken stoppingToken) =>
        options.Value.Processing ? retention.DeleteExpiredAsync(stoppingToken) : Task.CompletedTask;
}
