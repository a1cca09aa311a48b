using System.Collections.Concurrent;
using Hermod.Core.Storage;
using Hermod.Delivery.Bounces;
using Hermod.Delivery.Configuration;
using Hermod.Delivery.Targets;
using Hermod.Delivery.Transport;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hermod.Delivery.Queue;

/// <summary>
/// Takes due deliveries under a lease and runs them, bounded overall and per destination. It sleeps until the
/// next delivery is due or until woken: an accepted message wakes it at once, no database polling on the hot path
/// (a slow check every few seconds picks up retries requested from the command line by another process, and owed
/// DSNs whose maker in the cluster died).
/// </summary>
public sealed partial class QueueRunner(
    DeliveryOptions delivery,
    IDeliveryQueue queue,
    IMessageStore store,
    DeliveryTargets targets,
    BounceService bounces,
    TimeProvider time,
    ILogger<QueueRunner> logger) : BackgroundService
{
    private static readonly TimeSpan IdleCheck = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _destinations = new(StringComparer.OrdinalIgnoreCase);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var slots = new SemaphoreSlim(delivery.MaxConcurrency);
        var running = new ConcurrentDictionary<Task, bool>();
        await bounces.SendPendingAsync(stoppingToken);
        var dsnCheck = time.GetUtcNow() + IdleCheck;
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                // Owed DSNs at once when told of them, and at the idle check's pace besides: in a cluster only the node
                // that holds the DSN role makes them, and this is how another node takes it over once that node died.
                if (await queue.DsnOwed.WaitAsync(TimeSpan.Zero, stoppingToken) || time.GetUtcNow() >= dsnCheck)
                {
                    dsnCheck = time.GetUtcNow() + IdleCheck;
                    await bounces.SendPendingAsync(stoppingToken);
                }
                var free = slots.CurrentCount;
                var claimed = free == 0 ? 0 : await ClaimAndStartAsync(free, slots, running, stoppingToken);
                if (claimed > 0 && claimed == free)
                    continue; // more may be due
                wait = IdleCheck;
                if (free > 0 && await queue.NextDueAsync(stoppingToken) is { } due)
                    wait = TimeSpan.FromMilliseconds(Math.Clamp((due - time.GetUtcNow()).TotalMilliseconds, 0, IdleCheck.TotalMilliseconds));
            }
            catch (StorageUnavailableException e)
            {
                // the database is away (a restart, a fail-over): the runner goes on once it answers, and the host with it
                LogQueueUnavailable(logger, e, StoreRetry.TotalSeconds);
                wait = StoreRetry;
            }
            if (wait > TimeSpan.Zero)
                await queue.Signal.WaitAsync(wait, stoppingToken);
        }
        await Task.WhenAll(running.Keys);
    }

    /// <summary>How long the runner waits before it asks a store that was unavailable again (a wake-up comes sooner).</summary>
    private static readonly TimeSpan StoreRetry = TimeSpan.FromSeconds(1);

    private async Task<int> ClaimAndStartAsync(int max, SemaphoreSlim slots, ConcurrentDictionary<Task, bool> running, CancellationToken stoppingToken)
    {
        var claimed = time.GetUtcNow();
        var jobs = await queue.ClaimAsync(max, delivery.Lease, stoppingToken);
        foreach (var job in jobs)
        {
            await slots.WaitAsync(stoppingToken);
            var task = RunAsync(job, claimed, stoppingToken);
            running[task] = true;
            _ = task.ContinueWith(t =>
            {
                running.TryRemove(t, out _);
                slots.Release();
                queue.Signal.Set(); // a slot is free: look for more work
            }, TaskScheduler.Default);
        }
        return jobs.Count;
    }

    /// <param name="claimed">When the job's lease began.</param>
    private async Task RunAsync(DeliveryJob job, DateTimeOffset claimed, CancellationToken stoppingToken)
    {
        await Task.Yield();
        var destination = _destinations.GetOrAdd(job.Route, _ => new SemaphoreSlim(delivery.MaxPerDestination));
        await destination.WaitAsync(stoppingToken);
        var started = time.GetUtcNow();
        if (started - claimed > delivery.Lease / 2)
        {
            // Waited for its destination through half its lease: the attempt could outlast the lease, and once the lease
            // ends another claim (this node's or another's) may deliver the same recipients. Given back untouched: it is
            // due again when the lease ends, and claimed afresh.
            destination.Release();
            LogLeaseSpent(logger, job.Message.Envelope.Id, job.Route, (started - claimed).TotalSeconds);
            return;
        }
        try
        {
            TransportResult result;
            try
            {
                result = await AttemptAsync(job, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Our fault, not the destination's: the attempt is recorded as a temporary failure and retried.
                LogFailed(logger, e, job.Message.Envelope.Id);
                result = new TransportResult(job.Recipients.ToDictionary(r => r.DeliveryId, _ => DeliveryTargets.LocalError), false);
            }
            if (result.Fault is { } fault)
                LogTargetFailed(logger, fault, job.Message.Envelope.Id, RouteKey.Parse(job.Route).Target);
            var now = time.GetUtcNow();
            var outcomes = result.Held
                ? [.. job.Recipients.Select(r => new RecipientOutcome(r.DeliveryId, AttemptStatus.Held, result.Replies[r.DeliveryId]))]
                : job.Recipients.Select(r => Outcomes.For(r, result.Replies[r.DeliveryId], job.Message, result.DsnSupported,
                    delivery, now, Random.Shared.NextDouble())).ToList();
            await queue.RecordAsync(new AttemptRecord(job.Message.Envelope.Id, started, now, outcomes), CancellationToken.None);
            foreach (var o in outcomes)
                LogOutcome(logger, job.Message.Envelope.Id, job.Recipients.First(r => r.DeliveryId == o.DeliveryId).Address, o.Status, o.Reply.ToString());
            if (outcomes.Any(o => o.Dsn != DsnKind.None))
                await bounces.SendPendingAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // shutting down: the lease runs out and the work is taken up again
        }
        catch (Exception e)
        {
            LogFailed(logger, e, job.Message.Envelope.Id); // not even recorded: the lease runs out and the work is taken up again
        }
        finally
        {
            destination.Release();
        }
    }

    private async Task<TransportResult> AttemptAsync(DeliveryJob job, CancellationToken stoppingToken)
    {
        var route = RouteKey.Parse(job.Route);
        var held = route.Target == RouteKey.Quarantine ? $"held: quarantined (after review: 'hermod queue release {job.Message.Envelope.Id}' or 'hermod queue delete')"
            : targets.Find(route.Target) is null ? $"held: no target '{route.Target}' is configured (add it, then restart or 'hermod queue retry')"
            : null;
        if (held is not null)
        {
            var reply = UpstreamReply.NoReply(null, new(4, 3, 0), held);
            return new TransportResult(job.Recipients.ToDictionary(r => r.DeliveryId, _ => reply), false) { Held = true };
        }
        var id = job.Message.Envelope.Id;
        var message = new TargetMessage(job.Message, route.Domain, (stream, ct) => store.CopyContentAsync(id, stream, ct));
        return await DeliveryTargets.DeliverAsync(targets.Find(route.Target)!, message, job.Recipients, stoppingToken);
    }

    [LoggerMessage(3001, LogLevel.Information, "{MessageId} to <{Recipient}>: {Status}: {Reply}")]
    private static partial void LogOutcome(ILogger logger, string messageId, string recipient, AttemptStatus status, string reply);

    [LoggerMessage(3002, LogLevel.Error, "Delivery attempt for {MessageId} failed unexpectedly; it is retried")]
    private static partial void LogFailed(ILogger logger, Exception e, string messageId);

    [LoggerMessage(3005, LogLevel.Information, "{MessageId} to {Route}: not attempted, its lease half spent waiting {Seconds:0.#} s for the destination; claimed again when the lease ends")]
    private static partial void LogLeaseSpent(ILogger logger, string messageId, string route, double seconds);

    [LoggerMessage(3004, LogLevel.Warning, "The queue cannot be read, the store is unavailable; trying again in {Seconds} s")]
    private static partial void LogQueueUnavailable(ILogger logger, Exception e, double seconds);

    [LoggerMessage(3003, LogLevel.Error, "{MessageId}: target {Target} failed; the attempt is recorded as a local error and retried")]
    private static partial void LogTargetFailed(ILogger logger, Exception e, string messageId, string target);
}
