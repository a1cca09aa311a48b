using Hermod.Core.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Hermod.Storage.Postgres;

/// <summary>
/// This node's row in <c>nodes</c>, its heartbeat, and the clean-up after nodes that stopped beating: a node silent
/// for longer than the node timeout is dead, its deliveries in flight become due at once (not only when their lease
/// ends) and the bodies it was staging go. Every serving node does this; the first to see a dead node releases its
/// work, the others find nothing left.
/// </summary>
internal sealed partial class NodeMonitor : IAsyncDisposable
{
    private const string Register = "INSERT INTO nodes (name, started, heartbeat) VALUES ($1, $2, $2) ON CONFLICT (name) DO UPDATE SET heartbeat = $2";

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    /// <param name="released">Set when work of a dead node became due.</param>
    public NodeMonitor(NpgsqlDataSource source, string node, TimeSpan timeout, TimeProvider time, QueueSignal released, ILogger logger)
    {
        // Registered before the node takes any work: a node that dies before its first beat is seen dead all the same.
        using (var connection = source.OpenConnection())
        using (var command = Commands.Create(connection, Register, [node, time.GetUtcNow().ToUnixTimeMilliseconds()]))
            command.ExecuteNonQuery();
        // A beat every sixth of the timeout: a node is taken for dead after missing several in a row, not one slow one.
        var interval = timeout / 6;
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    var count = await BeatAsync(source, node, timeout, time, _stop.Token);
                    if (count > 0)
                    {
                        LogReleased(logger, count);
                        released.Set();
                    }
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException)
                {
                    LogBeatFailed(logger, e);
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                try
                {
                    await Task.Delay(interval, time, _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });
    }

    /// <summary>One beat: this node's row, then the work of dead nodes released; how many deliveries became due.</summary>
    private static async Task<int> BeatAsync(NpgsqlDataSource source, string node, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var deadBefore = now - (long)timeout.TotalMilliseconds;
        await using var connection = await source.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        async Task<int> ExecAsync(string sql, params object?[] values)
        {
            await using var command = Commands.Create(connection, sql, values, transaction);
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await ExecAsync("SET LOCAL synchronous_commit = off"); // a lost beat is made up by the next
        await ExecAsync(Register, node, now);
        var released = await ExecAsync("""
            UPDATE deliveries SET state = CASE WHEN attempts > 0 THEN 'deferred' ELSE 'queued' END, lease_owner = NULL, due_at = $1
            WHERE state = 'inflight' AND lease_owner IN (SELECT name FROM nodes WHERE heartbeat < $2 AND name <> $3)
            """, now, deadBefore, node);
        await ExecAsync("DELETE FROM blob_chunks WHERE blob_id IN (SELECT b.id FROM blobs b JOIN nodes n ON n.name = b.owner WHERE b.refcount = 0 AND n.heartbeat < $1)", deadBefore);
        await ExecAsync("DELETE FROM blobs b USING nodes n WHERE n.name = b.owner AND b.refcount = 0 AND n.heartbeat < $1", deadBefore);
        await ExecAsync("DELETE FROM nodes WHERE heartbeat < $1 AND name <> $2", deadBefore, node); // a node that comes back registers again
        if (released > 0)
            await ExecAsync($"NOTIFY {PostgresMessageStore.QueueChannel}");
        await transaction.CommitAsync(cancellationToken);
        return released;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }

    [LoggerMessage(2103, LogLevel.Warning, "Released {Count} deliveries in flight on nodes that stopped heartbeating")]
    private static partial void LogReleased(ILogger logger, int count);

    [LoggerMessage(2104, LogLevel.Warning, "This node's heartbeat to PostgreSQL failed")]
    private static partial void LogBeatFailed(ILogger logger, Exception e);
}
