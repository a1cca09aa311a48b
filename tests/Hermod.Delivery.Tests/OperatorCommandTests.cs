using Hermod.Core.Storage;
using Hermod.Delivery.Configuration;
using Hermod.Hosting.TestKit;
using static Hermod.Delivery.Tests.DeliveryWorld;

namespace Hermod.Delivery.Tests;

/// <summary>A world whose retries are slow unless asked for, so the operator's commands can be seen to act.</summary>
public sealed class SlowRetryWorld() : DeliveryWorldFixture(o =>
{
    o.Delivery.Retry = new RetryOptions { Min = TimeSpan.FromHours(1), Max = TimeSpan.FromHours(2), Factor = 2, MaxAge = TimeSpan.FromDays(1) };
});

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
