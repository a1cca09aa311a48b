using Hermod.Core.Smtp;
using Hermod.Policy.Checks;
using Microsoft.Extensions.Logging;

namespace Hermod.Policy.Pipeline;

/// <summary>
/// Runs the checks of a stage concurrently. The first refusal wins and cancels the others; each check has a timeout
/// that turns into its configured result; headers of accepting checks are kept in configuration order. Work is
/// bounded: when every slot of the shared pool is busy the stage is refused with 451 4.3.2 instead of queuing
/// without limit. A check that throws is our fault: the client gets <see cref="SmtpReply.LocalError"/>, the log the
/// check's name and the exception.
/// </summary>
public sealed partial class CheckRunner(IReadOnlyList<ConfiguredCheck> checks, SemaphoreSlim pool, TimeProvider time, ILogger logger)
{
    public static readonly SmtpReply Busy = new(451, new(4, 3, 2), "Too busy to check this message now, try again later");

    public async Task<StageOutcome> RunAsync(CheckStage stage, CheckContext context, CancellationToken cancellationToken)
    {
        var applicable = checks.Where(c => c.Check.RunsAt(stage)).ToList();
        if (applicable.Count == 0)
            return new StageOutcome(null, [], null);

        var acquired = 0;
        try
        {
            for (; acquired < applicable.Count; acquired++)
                if (!pool.Wait(0, CancellationToken.None)) // saturated: refuse now rather than queue
                    return new StageOutcome(Busy, [], null);

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var running = applicable.Select(c => RunOneAsync(c, stage, context, stop.Token)).ToList();
            var results = new CheckResult?[applicable.Count];
            var pending = running.ToList();
            while (pending.Count > 0)
            {
                var done = await Task.WhenAny(pending);
                pending.Remove(done);
                var result = await done;
                if (result.Refuses)
                {
                    await stop.CancelAsync(); // first refusal wins
                    return new StageOutcome(result.Reply, [], null);
                }
                results[running.IndexOf(done)] = result;
            }
            var headers = results.SelectMany(r => r!.Headers ?? []).ToList();
            var quarantine = results.FirstOrDefault(r => r!.Action == CheckAction.Quarantine)?.QuarantineReason;
            return new StageOutcome(null, headers, quarantine);
        }
        finally
        {
            if (acquired > 0)
                pool.Release(acquired);
        }
    }

    private async Task<CheckResult> RunOneAsync(ConfiguredCheck configured, CheckStage stage, CheckContext context, CancellationToken stop)
    {
        using var timeout = new CancellationTokenSource(configured.Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, timeout.Token);
        try
        {
            return await configured.Check.CheckAsync(stage, context, linked.Token).WaitAsync(linked.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !stop.IsCancellationRequested)
        {
            var result = configured.TimeoutResult;
            LogCheckTimedOut(logger, configured.Check.Name, configured.Timeout, stage, result.Action);
            return result;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return CheckResult.Accept; // another check refused already; this result is not used
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // a broken check is our fault, not the client's: try again later, never accept by accident
            LogCheckFailed(logger, e, configured.Check.Name, stage);
            return new CheckResult(CheckAction.TempFail, SmtpReply.LocalError);
        }
    }

    [LoggerMessage(6001, LogLevel.Error, "Check {Check} failed at the {Stage} stage; the client was asked to try again later")]
    private static partial void LogCheckFailed(ILogger logger, Exception e, string check, CheckStage stage);

    [LoggerMessage(6004, LogLevel.Warning, "Check {Check} did not finish within {Timeout} at the {Stage} stage; its on_timeout result applies: {Action}")]
    private static partial void LogCheckTimedOut(ILogger logger, string check, TimeSpan timeout, CheckStage stage, CheckAction action);
}
