using Hermod.Core.Storage;
using static Hermod.Delivery.Tests.DeliveryWorld;

namespace Hermod.Delivery.Tests;

/// <summary>A world with one delivery at a time per destination, and two messages per outbound connection.</summary>
public sealed class NarrowWorld() : DeliveryWorldFixture(o =>
{
    o.Delivery.MaxPerDestination = 1;
    o.Delivery.MaxMessagesPerConnection = 2;
});

public sealed class ConcurrencyLimitTests(NarrowWorld fixture) : IClassFixture<NarrowWorld>
{
    private readonly DeliveryWorld _world = fixture.World;

    [Fact]
    public async Task Deliveries_to_one_destination_stay_within_max_per_destination()
    {
        // three messages arrive within milliseconds; each takes half a second at the MX
        var ids = await Task.WhenAll(Enumerable.Range(0, 3).Select(i =>
            _world.SendAsync("sender@sender.test", [$"u{i}@slow.test"], $"Subject: slow {i}\r\n\r\nx\r\n")));
        foreach (var id in ids)
            Assert.Equal(DeliveryState.Delivered, (await _world.WaitFinalAsync(id, TimeSpan.FromSeconds(30))).Deliveries[0].State);
        Assert.Equal(3, _world.Mx.Received(Slow).Count);
        Assert.Equal(1, _world.Mx.MaxInData(Slow)); // max_per_destination: 1 (3 without the limit)
    }

    [Fact]
    public async Task A_reused_connection_carries_at_most_max_messages_per_connection()
    {
        for (var i = 0; i < 5; i++)
        {
            var id = await _world.SendAsync("sender@sender.test", [$"limit{i}@reuse.test"], $"Subject: limit {i}\r\n\r\nx\r\n");
            Assert.Equal(DeliveryState.Delivered, (await _world.WaitFinalAsync(id)).Deliveries[0].State);
        }
        Assert.Equal(5, _world.Mx.Received(Reuse).Count);
        Assert.Equal(3, _world.Mx.Connections(Reuse)); // two, two and one (one connection without the limit)
    }
}
