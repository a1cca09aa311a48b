using System.Diagnostics;
using System.Threading.Channels;
using Hermod.Core.Diagnostics;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Hermod.Storage.Postgres;

/// <summary>A unit of work for the writer; runs inside a transaction shared with the other writes of its batch.</summary>
internal abstract class WriteOp
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes after the commit (or with its error).</summary>
    public Task Completion => _done.Task;

    /// <summary>
    /// Whether the commit that carries this op must reach the disk before it completes (synchronous_commit). Not so
    /// for a record nobody is answered on (every next hop took the message), a claim, a staged chunk or a deletion:
    /// a later durable commit flushes the log, and with it every commit before it.
    /// </summary>
    public virtual bool Durable => true;

    /// <summary>
    /// Does the op's work; it may run twice — after a rollback of its batch it runs again, in a savepoint of its own —
    /// so it changes nothing but the database, and sets what it returns afresh each run.
    /// </summary>
    public abstract Task ExecuteAsync(WriteContext db);

    public void Complete(Exception? error)
    {
        if (error is null)
            _done.TrySetResult();
        else
            _done.TrySetException(error);
    }
}

/// <summary>
/// The node's writer: callers enqueue ops and await them; the writer takes everything queued, runs it in one
/// transaction and commits once, so many sessions share one commit and one flush of the log (group commit). When an
/// op fails, the batch is rolled back and run again with a savepoint per op, so that one failure spoils nothing else.
/// </summary>
internal sealed partial class GroupCommitWriter : IAsyncDisposable
{
    private readonly Channel<WriteOp> _queue = Channel.CreateUnbounded<WriteOp>(new UnboundedChannelOptions { SingleReader = true });
    private readonly NpgsqlDataSource _source;
    private readonly int _maxBatch;
    private readonly bool _forceSync;
    private readonly HermodMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Task _loop;

    /// <param name="forceSync">The server's default is synchronous_commit = off: durable commits set it on for themselves.</param>
    public GroupCommitWriter(NpgsqlDataSource source, int maxBatch, bool forceSync, HermodMetrics metrics, ILogger logger)
    {
        _source = source;
        _maxBatch = maxBatch;
        _forceSync = forceSync;
        _metrics = metrics;
        _logger = logger;
        _loop = Task.Run(RunAsync);
    }

    public Task EnqueueAsync(WriteOp op)
    {
        if (!_queue.Writer.TryWrite(op))
            op.Complete(new ObjectDisposedException(nameof(GroupCommitWriter)));
        return op.Completion;
    }

    private async Task RunAsync()
    {
        var batch = new List<WriteOp>(_maxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            while (batch.Count < _maxBatch && _queue.Reader.TryRead(out var op))
                batch.Add(op);
            await CommitBatchAsync(batch);
            batch.Clear();
        }
    }

    private async Task CommitBatchAsync(List<WriteOp> batch)
    {
        var started = Stopwatch.GetTimestamp();
        var errors = new Exception?[batch.Count];
        Exception? commitError = null;
        try
        {
            await using var connection = await _source.OpenConnectionAsync();
            if (await TryCommitWholeAsync(connection, batch) is { } error)
            {
                if (batch.Count == 1)
                    errors[0] = error; // run again in a savepoint, it would only fail again
                else
                    await CommitEachAsync(connection, batch, errors);
            }
        }
        catch (Exception e)
        {
            // the database is unreachable or the commit failed: nothing of the batch is known to be durable
            commitError = e;
            LogCommitFailed(_logger, e, batch.Count);
        }
        _metrics.CommitBatchSize.Record(batch.Count);
        _metrics.CommitDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        for (var i = 0; i < batch.Count; i++)
            batch[i].Complete(commitError ?? errors[i]);
    }

    /// <summary>
    /// Every op in one transaction, no savepoints; the error (rolled back) when an op failed. The transaction's
    /// statements are queued: ops that wait for no result share one round trip with BEGIN and COMMIT.
    /// </summary>
    private async Task<PostgresException?> TryCommitWholeAsync(NpgsqlConnection connection, List<WriteOp> batch)
    {
        var db = new WriteContext(connection);
        try
        {
            Begin(db, batch);
            foreach (var op in batch)
                await op.ExecuteAsync(db);
            await CommitAsync(db);
        }
        catch (PostgresException e)
        {
            await RollbackAsync(connection);
            return e;
        }
        finally
        {
            _metrics.CommitRoundTrips.Record(db.RoundTrips);
        }
        return null;
    }

    /// <summary>Each op in a savepoint of one transaction: one that fails (its error kept) spoils nothing else.</summary>
    private async Task CommitEachAsync(NpgsqlConnection connection, List<WriteOp> batch, Exception?[] errors)
    {
        var db = new WriteContext(connection);
        Begin(db, batch);
        for (var i = 0; i < batch.Count; i++)
        {
            db.Queue("SAVEPOINT op");
            try
            {
                await batch[i].ExecuteAsync(db);
                await db.ExecAsync("RELEASE SAVEPOINT op"); // sends the op's statements: a failure is this op's
            }
            catch (PostgresException e)
            {
                errors[i] = e;
                await db.ExecAsync("ROLLBACK TO SAVEPOINT op");
            }
        }
        await CommitAsync(db);
        _metrics.CommitRoundTrips.Record(db.RoundTrips);
    }

    /// <summary>
    /// Opens the transaction. A batch of nothing durable commits without waiting for the log to reach the disk (a later
    /// durable commit flushes it, with everything before it).
    /// </summary>
    private void Begin(WriteContext db, List<WriteOp> batch)
    {
        db.Reset();
        db.Queue("BEGIN");
        var durable = batch.Exists(op => op.Durable);
        if (!durable)
            db.Queue("SET LOCAL synchronous_commit = off");
        else if (_forceSync)
            db.Queue("SET LOCAL synchronous_commit = on");
    }

    private static async Task CommitAsync(WriteContext db)
    {
        foreach (var channel in db.Notifications) // delivered to the listening nodes when the commit is
            db.Queue($"NOTIFY {channel}");
        await db.ExecAsync("COMMIT");
    }

    /// <summary>Ends a transaction a failed statement left open (and aborted).</summary>
    private static async Task RollbackAsync(NpgsqlConnection connection)
    {
        await using var rollback = new NpgsqlCommand("ROLLBACK", connection);
        await rollback.ExecuteNonQueryAsync();
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
    }

    [LoggerMessage(2101, LogLevel.Error, "Group commit of {Count} writes to PostgreSQL failed")]
    private static partial void LogCommitFailed(ILogger logger, Exception e, int count);
}
