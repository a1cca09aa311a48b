using Hermod.Core.Storage;
using Hermod.Delivery.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hermod.Delivery.Retention;

/// <summary>
/// Deletes finished messages (and their blobs and submissions) once they are older than <c>retention</c>: a first
/// pass a minute after start, then every five minutes, each in batches so the single writer is never held long.
/// <see cref="RunOnceAsync"/> runs a pass on demand (tests, operators).
/// </summary>
public sealed partial class RetentionService(DeliveryOptions delivery, IRetentionStore store, TimeProvider time, ILogger<RetentionService> logger)
    : BackgroundService
{
    public static readonly TimeSpan FirstPass = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(5);

    /// <summary>Messages deleted per commit.</summary>
    public const int BatchSize = 500;

    private readonly SemaphoreSlim _running = new(1, 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(FirstPass, time, stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await RunOnceAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogFailed(logger, e); // the next pass tries again
                }
                await Task.Delay(Interval, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // shutting down
        }
    }

    /// <summary>One full pass: deletes everything past retention, batch by batch; one pass at a time.</summary>
    public async Task<RetentionResult> RunOnceAsync(CancellationToken cancellationToken)
    {
        await _running.WaitAsync(cancellationToken);
        try
        {
            var total = RetentionResult.None;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var batch = await store.DeleteFinishedAsync(delivery.Retention, BatchSize, cancellationToken);
                total = total.Add(batch);
                if (batch.Messages < BatchSize)
                    break;
            }
            if (total.Messages > 0)
                LogDeleted(logger, total.Messages, total.Blobs, total.Submissions, delivery.Retention);
            return total;
        }
        finally
        {
            _running.Release();
        }
    }

    public override void Dispose()
    {
        _running.Dispose();
        base.Dispose();
    }

    [LoggerMessage(3301, LogLevel.Information, "Retention: deleted {Messages} message(s), {Blobs} blob(s), {Submissions} submission(s) finished more than {Retention} ago")]
    private static partial void LogDeleted(ILogger logger, int messages, int blobs, int submissions, TimeSpan retention);

    [LoggerMessage(3302, LogLevel.Error, "Retention pass failed; the next pass tries again")]
    private static partial void LogFailed(ILogger logger, Exception e);
}
