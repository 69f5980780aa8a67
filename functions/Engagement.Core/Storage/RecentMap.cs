using System.Collections.Concurrent;

namespace Engagement.Storage;

/// <summary>
/// What this process wrote or read lately, kept to skip storage calls. Bounded: when it holds
/// <c>capacity</c> entries it forgets them all, and a forgotten entry costs one storage call again, never correctness.
/// The size is counted on the side: <see cref="ConcurrentDictionary{TKey,TValue}.Count"/> takes every lock of the map.
/// </summary>
public sealed class RecentMap<TKey, TValue>(int capacity, IEqualityComparer<TKey>? comparer = null)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, TValue> items = new(comparer);
    private int count;

    public bool TryGet(TKey key, out TValue value) => items.TryGetValue(key, out value!);

    public bool Contains(TKey key) => items.ContainsKey(key);

    public void Set(TKey key, TValue value)
    {
        if (Volatile.Read(ref count) >= capacity)
        {
            items.Clear();
            Volatile.Write(ref count, 0);
        }

        if (items.TryAdd(key, value))
        {
            Interlocked.Increment(ref count);
        }
        else
        {
            items[key] = value;
        }
    }

    public void Remove(TKey key)
    {
        if (items.TryRemove(key, out _))
        {
            Interlocked.Decrement(ref count);
        }
    }
}
