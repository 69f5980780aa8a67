using System.Collections.Concurrent;

namespace Engagement.Storage;

/// <summary>
/// Group commit for rows many callers change: items for the same key that meet in this process are written together,
/// by one writer at a time per key — one read and one ETag-checked write for all of them instead of a read and a write
/// each, and no ETag race between this process's own callers (other instances still meet at the ETag). Each caller
/// gets its own item's outcome once the write that holds it has succeeded, or the exception for its item (or for the
/// whole write).
/// </summary>
/// <typeparam name="TItem">What a caller asks to be written.</typeparam>
/// <typeparam name="TResult">What the caller gets back.</typeparam>
/// <param name="write">Writes a batch for a key; returns one outcome per item, in order.</param>
/// <param name="take">How many of the waiting items (in arrival order) the next write takes; at least one. Null: all.</param>
public sealed class GroupCommit<TItem, TResult>(
    Func<string, IReadOnlyList<TItem>, Task<IReadOnlyList<GroupCommitOutcome<TResult>>>> write,
    Func<IReadOnlyList<TItem>, int>? take = null)
{
    private readonly ConcurrentDictionary<string, Batch> batches = new(StringComparer.Ordinal);

    public async Task<TResult> SubmitAsync(string key, TItem item, CancellationToken cancellationToken)
    {
        var batch = batches.GetOrAdd(key, _ => new Batch());
        var done = new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        bool lead;
        lock (batch)
        {
            batch.Waiting.Add((item, done));
            lead = !batch.Writing;
            batch.Writing = true;
        }

        if (lead)
        {
            _ = Task.Run(() => WriteAllAsync(key, batch), CancellationToken.None);
        }

        return await done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Writes what is waiting, batch after batch, until nothing is.</summary>
    private async Task WriteAllAsync(string key, Batch batch)
    {
        while (true)
        {
            List<(TItem Item, TaskCompletionSource<TResult> Done)> items;
            lock (batch)
            {
                if (batch.Waiting.Count == 0)
                {
                    batch.Writing = false;
                    return;
                }

                var count = take is null ? batch.Waiting.Count : Math.Clamp(take(batch.Waiting.ConvertAll(w => w.Item)), 1, batch.Waiting.Count);
                items = batch.Waiting.GetRange(0, count);
                batch.Waiting.RemoveRange(0, count);
            }

            try
            {
                var outcomes = await write(key, items.ConvertAll(i => i.Item));
                for (var i = 0; i < items.Count; i++)
                {
                    if (outcomes[i].Failure is { } failure)
                    {
                        items[i].Done.TrySetException(failure);
                    }
                    else
                    {
                        items[i].Done.TrySetResult(outcomes[i].Result!);
                    }
                }
            }
            catch (Exception ex)
            {
                foreach (var (_, waiting) in items)
                {
                    waiting.TrySetException(ex);
                }
            }
        }
    }

    private sealed class Batch
    {
        public List<(TItem Item, TaskCompletionSource<TResult> Done)> Waiting { get; } = [];

        public bool Writing { get; set; }
    }
}

/// <summary>One item's outcome in a group commit: its result, or the exception it alone failed with.</summary>
public readonly record struct GroupCommitOutcome<TResult>(TResult? Result, Exception? Failure);

/// <summary>Outcomes of a group commit's items.</summary>
public static class GroupCommitOutcome
{
    public static GroupCommitOutcome<TResult> Of<TResult>(TResult result) => new(result, null);

    public static GroupCommitOutcome<TResult> Failed<TResult>(Exception failure) => new(default, failure);
}
