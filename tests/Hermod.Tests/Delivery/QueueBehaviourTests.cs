using System.Diagnostics;
using Hermod.Core.Configuration;
using Hermod.Core.Storage;
using Hermod.Delivery.Configuration;
using Hermod.Hosting.Configuration;
using Hermod.TestKit;
using Hermod.Tests.TestKit;
using static Hermod.Tests.Delivery.DeliveryWorld;

namespace Hermod.Tests.Delivery;

/// <summary>A world whose retries are slow unless asked for, so the operator's commands can be seen to act.</summary>
public sealed class SlowRetryWorld() : DeliveryWorldFixture(o =>
{
    o.Delivery.Retry = new RetryOptions { Min = TimeSpan.FromHours(1), Max = TimeSpan.FromHours(2), Factor = 2, MaxAge = TimeSpan.FromDays(1) };
});

/// <summary>A world with one delivery at a time per destination, and two messages per outbound connection.</summary>
public sealed class NarrowWorld() : DeliveryWorldFixture(o =>
{
    o.Delivery.MaxPerDestination = 1;
    o.Delivery.MaxMessagesPerConnection = 2;
});

/// <summary>A world where messages warn after a second and expire after four.</summary>
public sealed class ShortLifeWorld() : DeliveryWorldFixture(o =>
{
    o.Delivery.Retry = new RetryOptions { Min = TimeSpan.FromMilliseconds(300), Max = TimeSpan.FromMilliseconds(500), Factor = 2, MaxAge = TimeSpan.FromSeconds(4) };
    o.Delivery.DelayWarning = TimeSpan.FromSeconds(1);
});

public abstract class DeliveryWorldFixture(Action<HermodConfiguration> configure) : IAsyncLifetime
{
    public DeliveryWorld World { get; } = new() { Configure = configure };

    public Task InitializeAsync() => World.InitializeAsync();

    public Task DisposeAsync() => World.DisposeAsync();
}

public sealed class OperatorCommandTests(SlowRetryWorld fixture) : IClassFixture<SlowRetryWorld>
{
    private readonly DeliveryWorld _world = fixture.World;

    [Fact]
    public async Task Queue_retry_makes_a_deferred_message_due_now_and_queue_delete_cancels_it()
    {
        var id = await _world.SendAsync("sender@sender.test", ["tempfail-op@good.test"], "Subject: op\r\n\r\nx\r\n");
        var deferred = await _world.WaitAsync(id, m => m.Deliveries[0].State == DeliveryState.Deferred);
        Assert.Equal(1, deferred.Deliveries[0].Attempts);
        Assert.True(deferred.Deliveries[0].NextAttempt > DateTimeOffset.UtcNow.AddMinutes(50)); // an hour away

        var config = Path.Combine(_world.Host.DataDir, "cli.yaml");
        await File.WriteAllTextAsync(config, $"data_dir: {_world.Host.DataDir}\n");
        var list = await CliRunner.RunAsync(["queue", "list", "--state", "deferred", "--config", config]);
        Assert.Contains(id, list.Stdout);
        var retry = await CliRunner.RunAsync(["queue", "retry", id, "--config", config]);
        Assert.Equal(0, retry.ExitCode);
        Assert.Contains("1 recipient(s) due now", retry.Stdout);
        // another process asked: the runner's idle check picks it up within seconds
        await _world.WaitAsync(id, m => m.Deliveries[0].Attempts == 2, TimeSpan.FromSeconds(15));

        var delete = await CliRunner.RunAsync(["queue", "delete", id, "--config", config]);
        Assert.Equal(0, delete.ExitCode);
        var cancelled = (await _world.Host.Store.GetAsync(id, default))!;
        Assert.Equal(DeliveryState.Cancelled, cancelled.Deliveries[0].State);
        Assert.Equal(1, (await CliRunner.RunAsync(["queue", "retry", id, "--config", config])).ExitCode); // nothing left to retry
    }

    [Fact]
    public async Task Messages_to_one_destination_reuse_one_connection()
    {
        for (var i = 0; i < 3; i++)
        {
            var id = await _world.SendAsync("sender@sender.test", [$"user{i}@reuse.test"], $"Subject: reuse {i}\r\n\r\nx\r\n");
            Assert.Equal(DeliveryState.Delivered, (await _world.WaitFinalAsync(id)).Deliveries[0].State);
        }
        Assert.Equal(3, _world.Mx.Received(Reuse).Count);
        Assert.Equal(1, _world.Mx.Connections(Reuse));
    }
}

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
