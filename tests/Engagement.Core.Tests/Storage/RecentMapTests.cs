using Engagement.Storage;

namespace Engagement.Core.Tests.Storage;

public sealed class RecentMapTests
{
    [Fact]
    public void Keeps_what_was_set_until_it_reaches_its_capacity_then_starts_over()
    {
        var map = new RecentMap<string, int>(3, StringComparer.Ordinal);
        map.Set("a", 1);
        map.Set("b", 2);
        map.Set("a", 10); // a replacement does not count twice
        map.Set("c", 3);

        Assert.True(map.TryGet("a", out var a));
        Assert.Equal(10, a);
        Assert.True(map.Contains("c"));

        map.Set("d", 4); // the fourth key: everything before is forgotten
        Assert.True(map.Contains("d"));
        Assert.False(map.Contains("a"));
        Assert.False(map.TryGet("c", out _));
    }

    [Fact]
    public void A_removed_key_frees_its_place()
    {
        var map = new RecentMap<string, bool>(2, StringComparer.Ordinal);
        map.Set("a", true);
        map.Set("b", true);
        map.Remove("a");
        map.Remove("never-set");
        map.Set("c", true);

        Assert.True(map.Contains("b"));
        Assert.True(map.Contains("c"));
    }

    [Fact]
    public async Task Stays_bounded_under_concurrent_writers()
    {
        var map = new RecentMap<int, int>(1_000);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(() =>
        {
            for (var i = 0; i < 50_000; i++)
            {
                map.Set((w * 50_000) + i, i);
            }
        })));

        var held = Enumerable.Range(0, 400_000).Count(map.Contains);
        Assert.InRange(held, 1, 1_000 + 16); // writers racing past a full map each add one more before it starts over
    }
}
