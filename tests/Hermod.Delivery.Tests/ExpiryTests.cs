using System.Diagnostics;
using Hermod.Core.Storage;
using Hermod.Delivery.Configuration;

namespace Hermod.Delivery.Tests;

/// <summary>A world where messages warn after a second and expire after four.</summary>
public sealed class ShortLifeWorld() : DeliveryWorldFixture(o =>
{
    o.Delivery.Retry = new RetryOptions { Min = TimeSpan.FromMilliseconds(300), Max = TimeSpan.FromMilliseconds(500), Factor = 2, MaxAge = TimeSpan.FromSeconds(4) };
    o.Delivery.DelayWarning = TimeSpan.FromSeconds(1);
});

public sealed class ExpiryTests(ShortLifeWorld fixture) : IClassFixture<ShortLifeWorld>
{
    private readonly DeliveryWorld _world = fixture.World;

    [Fact]
    public async Task A_message_that_keeps_failing_warns_once_then_expires_and_bounces()
    {
        var sender = "expiry@sender.test";
        var id = await _world.SendAsync(sender, ["tempfail-forever@good.test"], "Subject: expiring\r\n\r\nx\r\n");
        var message = await _world.WaitFinalAsync(id, TimeSpan.FromSeconds(20));
        var d = message.Deliveries[0];
        Assert.Equal(DeliveryState.Failed, d.State);
        Assert.True(d.Attempts >= 3, $"{d.Attempts} attempts");
        Assert.Contains("gave up", d.LastReply!.Reply.Text);

        var clock = Stopwatch.StartNew();
        while (_world.Bounces(sender).Count < 2 && clock.Elapsed < TimeSpan.FromSeconds(10))
            await Task.Delay(50);
        await Task.Delay(500);
        var dsns = _world.Bounces(sender);
        Assert.Equal(2, dsns.Count);
        Assert.Single(dsns, b => b.Text.Contains("Action: delayed", StringComparison.Ordinal));
        Assert.Single(dsns, b => b.Text.Contains("Action: failed", StringComparison.Ordinal));
        Assert.Contains("Will-Retry-Until:", dsns.Single(b => b.Text.Contains("Action: delayed", StringComparison.Ordinal)).Text);
    }
}
