using Engagement.Functions.Durable;

namespace Engagement.Functions.Tests;

/// <summary>The queue trigger's delivery count, as the worker hands it over in binding data.</summary>
public sealed class IntakeQueueFunctionsTests
{
    [Theory]
    [InlineData("1", 1L)]
    [InlineData("3", 3L)]
    [InlineData(2L, 2L)]
    [InlineData(1, 1L)]
    [InlineData("", 0L)]
    [InlineData("two", 0L)]
    [InlineData(null, 0L)]
    public void The_dequeue_count_is_read_from_binding_data_and_is_0_when_unreadable(object? value, long expected) =>
        Assert.Equal(expected, IntakeQueueFunctions.DequeueCount(new Dictionary<string, object?> { ["DequeueCount"] = value }));

    [Fact]
    public void Without_a_dequeue_count_the_count_is_0_so_the_rows_are_taken_as_possible_reruns() =>
        Assert.Equal(0, IntakeQueueFunctions.DequeueCount(new Dictionary<string, object?>()));
}
