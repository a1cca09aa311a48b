using Hermod.Core.Storage;
using static Hermod.Delivery.Tests.DeliveryWorld;

namespace Hermod.Delivery.Tests.Queue;

/// <summary>A world with one delivery at a time per destination and a lease of two seconds.</summary>
public sealed class ShortLeaseWorld() : DeliveryWorldFixture(o =>
{
    o.Delivery.MaxPerDestination = 1;
    o.Delivery.Lease = TimeSpan.FromSeconds(2);
});

public sealed class LeaseTests(ShortLeaseWorld fixture) : IClassFixture<ShortLeaseWorld>
{
    private readonly DeliveryWorld _world = fixture.World;

    [Fact]
    public async Task A_delivery_that_waits_out_its_lease_for_its_destination_is_not_delivered_twice()
    {
        // six messages claimed at once, each half a second at the MX, one at a time: the last ones wait longer than the
        // lease, which ends while they wait, and the runner claims them again
        var ids = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            _world.SendAsync("sender@sender.test", [$"lease{i}@slow.test"], $"Subject: lease {i}\r\n\r\nx\r\n")));
        foreach (var id in ids)
            Assert.Equal(DeliveryState.Delivered, (await _world.WaitFinalAsync(id, TimeSpan.FromSeconds(60))).Deliveries[0].State);
        await Task.Delay(TimeSpan.FromSeconds(3)); // a second copy would be under way by now
        Assert.Equal(6, _world.Mx.Received(Slow).Count(m => m.Text.Contains("Subject: lease ", StringComparison.Ordinal)));
    }
}
