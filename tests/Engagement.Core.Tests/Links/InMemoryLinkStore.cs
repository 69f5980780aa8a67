using Engagement.Links;

namespace Engagement.Core.Tests.Links;

/// <summary>
/// <see cref="ILinkStore"/> with the Table semantics that matter: a new ETag per write and replaces conditional on it.
/// <see cref="HoldReads"/> makes the next N reads wait for each other, so concurrent callers see the same version.
/// </summary>
internal sealed class InMemoryLinkStore : ILinkStore
{
    private readonly Dictionary<string, LinkRecord> records = new(StringComparer.Ordinal);
    private readonly object gate = new();
    private Barrier? readBarrier;
    private int heldReads;

    public int Writes { get; private set; }

    public void HoldReads(int participants)
    {
        readBarrier = new Barrier(participants);
        heldReads = participants;
    }

    public Task CreateAsync(LinkRecord record, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            record.ETag = NewETag();
            records.Add(record.LinkId, record.Copy());
            Writes++;
        }

        return Task.CompletedTask;
    }

    public async Task<LinkRecord?> GetAsync(string linkId, CancellationToken cancellationToken)
    {
        LinkRecord? copy;
        lock (gate)
        {
            copy = records.TryGetValue(linkId, out var stored) ? stored.Copy() : null;
        }

        if (readBarrier is { } barrier && Interlocked.Decrement(ref heldReads) >= 0)
        {
            await Task.Run(() => barrier.SignalAndWait(TimeSpan.FromSeconds(10)), cancellationToken);
        }

        return copy;
    }

    public LinkRecord Peek(string linkId)
    {
        lock (gate)
        {
            return records[linkId].Copy();
        }
    }

    public void Change(string linkId, Action<LinkRecord> change)
    {
        lock (gate)
        {
            var record = records[linkId];
            change(record);
            record.ETag = NewETag();
        }
    }

    public Task<bool> TryReplaceAsync(LinkRecord record, string ifMatch, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (!records.TryGetValue(record.LinkId, out var stored) || stored.ETag != ifMatch)
            {
                return Task.FromResult(false);
            }

            record.ETag = NewETag();
            records[record.LinkId] = record.Copy();
            Writes++;
            return Task.FromResult(true);
        }
    }

    private static string NewETag() => "W/\"" + Guid.NewGuid().ToString("N") + "\"";
}
