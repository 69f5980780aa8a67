namespace Engagement.Integration.Tests.Infrastructure;

public static class Poll
{
    /// <summary>Polls until <paramref name="probe"/> returns a value satisfying <paramref name="done"/>; the last value otherwise fails the test.</summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        T last;
        do
        {
            last = await probe();
            if (done(last))
            {
                return last;
            }

            await Task.Delay(250);
        }
        while (DateTime.UtcNow < deadline);

        throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0}s waiting for {what}; last value: {last}");
    }

    /// <summary>
    /// As <see cref="UntilAsync{T}"/>, but the last value is returned when <paramref name="done"/> is never met, for a
    /// scenario that records its figures before it asserts what is missing.
    /// </summary>
    public static async Task<T> UntilOrLastAsync<T>(Func<Task<T>> probe, Func<T, bool> done, TimeSpan timeout, string what)
    {
        try
        {
            return await UntilAsync(probe, done, timeout, what);
        }
        catch (TimeoutException)
        {
            return await probe();
        }
    }
}
