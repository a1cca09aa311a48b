using Hermod.Core.Storage;

namespace Hermod.Core.Tests.Storage;

public sealed class QueueSignalTests
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(50);

    [Fact]
    public async Task Many_sets_before_a_wait_count_as_one()
    {
        using var signal = new QueueSignal();
        for (var i = 0; i < 1000; i++)
            signal.Set();
        Assert.True(await signal.WaitAsync(Short, default));
        Assert.False(await signal.WaitAsync(Short, default));
    }

    [Fact]
    public async Task A_set_after_a_wait_wakes_the_next_wait_and_a_waiter_is_woken()
    {
        using var signal = new QueueSignal();
        Assert.False(await signal.WaitAsync(Short, default));
        var waiting = signal.WaitAsync(TimeSpan.FromSeconds(10), default);
        signal.Set();
        Assert.True(await waiting);
        signal.Set();
        Assert.True(await signal.WaitAsync(Short, default));
    }

    [Fact]
    public async Task Concurrent_sets_leave_it_set_once()
    {
        using var signal = new QueueSignal();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 10_000; i++)
                signal.Set();
        })));
        Assert.True(await signal.WaitAsync(Short, default));
        Assert.False(await signal.WaitAsync(Short, default));
    }
}
