using Hermod.Core.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Hermod.Storage.Postgres;

/// <summary>
/// This node's row in <c>nodes</c>, its heartbeat, the roles it holds, and the clean-up after nodes that stopped
/// beating: a node silent for longer than the node timeout is dead, its deliveries in flight become due at once (not
/// only when their lease ends), the bodies it was staging go, and its roles pass to the next node that asks. Every
/// serving node does this; the first to see a dead node releases its work, the others find nothing left.
/// </summary>
internal sealed partial class NodeMonitor : IAsyncDisposable
{
    private const string Register = "INSERT INTO nodes (name, started, heartbeat) VALUES ($1, $2, $2) ON CONFLICT (name) DO UPDATE SET heartbeat = $2";

    /// <summary>
    /// $1 the role, $2 this node, $3 now, $4 the oldest heartbeat of a live node. True when this node is alive and holds
    /// the role, having taken it now if its holder is not alive (or there was none). One statement, and a write only to
    /// take the role: two nodes taking it at once meet at its key, and the second finds the first alive.
    /// </summary>
    private const string Hold = """
        WITH live AS (SELECT name FROM nodes WHERE heartbeat >= $4),
        taken AS (
            INSERT INTO roles (name, node, since)
            SELECT $1, $2, $3 WHERE $2 IN (SELECT name FROM live)
                AND NOT EXISTS (SELECT 1 FROM roles WHERE name = $1 AND (node = $2 OR node IN (SELECT name FROM live)))
            ON CONFLICT (name) DO UPDATE SET node = excluded.node, since = excluded.since
                WHERE roles.node = excluded.node OR roles.node NOT IN (SELECT name FROM live)
            RETURNING node)
        SELECT $2 IN (SELECT name FROM live) AND (EXISTS (SELECT 1 FROM roles WHERE name = $1 AND node = $2) OR EXISTS (SELECT 1 FROM taken))
        """;

    private readonly NpgsqlDataSource _source;
    private readonly string _node;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    /// <param name="released">Set when work of a dead node became due.</param>
    public NodeMonitor(NpgsqlDataSource source, string node, TimeSpan timeout, TimeProvider time, QueueSignal released, ILogger logger)
    {
        (_source, _node, _timeout, _time, _logger) = (source, node, timeout, time, logger);
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
        // The blob row first, its chunks only if it went: a node taken for dead that was only cut off (a long outage of
        // the database) may be accepting the body right now, and its accept locks the row and counts a reference, so the
        // row is then left, chunks and all; an accept that finds the row gone refuses the message.
        await ExecAsync("""
            WITH gone AS (DELETE FROM blobs b USING nodes n WHERE n.name = b.owner AND b.refcount = 0 AND n.heartbeat < $1 RETURNING b.id)
            DELETE FROM blob_chunks WHERE blob_id IN (SELECT id FROM gone)
            """, deadBefore);
        await ExecAsync("DELETE FROM nodes WHERE heartbeat < $1 AND name <> $2", deadBefore, node); // a node that comes back registers again
        if (released > 0)
            await ExecAsync($"NOTIFY {PostgresMessageStore.QueueChannel}");
        await transaction.CommitAsync(cancellationToken);
        return released;
    }

    /// <summary>
    /// True when this node holds <paramref name="role"/> now: a role stays with its node while that node beats, and
    /// passes to the first node that asks once its holder has been silent for the node timeout or stopped cleanly.
    /// </summary>
    public async Task<bool> HoldAsync(string role, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await _source.OpenConnectionAsync(cancellationToken);
        await using var command = Commands.Create(connection, Hold, [role, _node, now, now - (long)_timeout.TotalMilliseconds]);
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }

    /// <summary>Stops the heartbeat and gives this node's roles up: another node takes them at once, not after the node timeout.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
        try
        {
            await using var connection = await _source.OpenConnectionAsync();
            await using var command = Commands.Create(connection, "DELETE FROM roles WHERE node = $1", [_node]);
            await command.ExecuteNonQueryAsync();
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or IOException)
        {
            LogRolesKept(_logger, e);
        }
    }

    [LoggerMessage(2103, LogLevel.Warning, "Released {Count} deliveries in flight on nodes that stopped heartbeating")]
    private static partial void LogReleased(ILogger logger, int count);

    [LoggerMessage(2104, LogLevel.Warning, "This node's heartbeat to PostgreSQL failed")]
    private static partial void LogBeatFailed(ILogger logger, Exception e);

    [LoggerMessage(2105, LogLevel.Warning, "This node could not give up its roles as it stopped; other nodes take them once it has been silent for the node timeout")]
    private static partial void LogRolesKept(ILogger logger, Exception e);
}
