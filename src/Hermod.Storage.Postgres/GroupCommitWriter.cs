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
        catch (CommitInDoubtException e)
        {
            // The writer goes on with the next batch meanwhile: while the database is away, those fail at once.
            _source.Clear();
            _ = ResolveAsync(e, [.. batch], errors);
            RecordBatch(batch.Count, started);
            return;
        }
        catch (Exception e)
        {
            // the database is unreachable or the commit failed: nothing of the batch is durable
            commitError = e;
            if (Unreachable.Is(e))
                _source.Clear(); // after a restart of the server every idle connection is dead: each would fail once more
            LogCommitFailed(_logger, e, batch.Count);
        }
        RecordBatch(batch.Count, started);
        for (var i = 0; i < batch.Count; i++)
            batch[i].Complete(Unreachable.Translate(commitError ?? errors[i]));
    }

    private void RecordBatch(int count, long started)
    {
        _metrics.CommitBatchSize.Record(count);
        _metrics.CommitDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    /// <summary>
    /// The connection failed while COMMIT was under way: the transaction may have committed or not. Its status is
    /// asked of the database (<c>pg_xact_status</c>) until it answers, for up to <see cref="InDoubtWait"/>: committed,
    /// the ops succeed (their 250 is true); rolled back, they fail (their 451 is true). Still unknown then, they fail as
    /// well, and the log says that the batch may be stored all the same — a message its client sends again is then
    /// delivered twice, never lost.
    /// </summary>
    private async Task ResolveAsync(CommitInDoubtException inDoubt, WriteOp[] batch, Exception?[] errors)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(InDoubtWait.TotalSeconds * Stopwatch.Frequency);
        string? status = null;
        try
        {
            while (status is null && Stopwatch.GetTimestamp() < deadline)
            {
                try
                {
                    await using var connection = await _source.OpenConnectionAsync();
                    await using var command = Commands.Create(connection, "SELECT pg_xact_status($1::xid8)", [inDoubt.TransactionId]);
                    status = await command.ExecuteScalarAsync() as string;
                    if (status == "in progress") // its server session has not ended yet
                        status = null;
                }
                catch (NpgsqlException)
                {
                    // not back yet
                }
                if (status is null)
                    await Task.Delay(ResolvePoll);
            }
        }
        catch (ObjectDisposedException)
        {
            // the store is closing: no answer
        }
        finally
        {
            if (status == "committed")
                LogInDoubtCommitted(_logger, batch.Length);
            else if (status is null)
                LogInDoubtUnknown(_logger, inDoubt.InnerException, batch.Length, InDoubtWait.TotalSeconds);
            for (var i = 0; i < batch.Length; i++)
                batch[i].Complete(status == "committed" ? errors[i] : Unreachable.Wrap(inDoubt.InnerException!));
        }
    }

    /// <summary>How long a batch whose COMMIT got no answer waits for the database to tell whether it committed.</summary>
    internal static readonly TimeSpan InDoubtWait = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan ResolvePoll = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Every op in one transaction, no savepoints; the error (rolled back) when an op failed. The transaction's
    /// statements are queued: ops that wait for no result share one round trip with BEGIN (and COMMIT another).
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
        catch (PostgresException e) when (!Unreachable.Is(e)) // else the server ended the transaction with the session
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
            catch (PostgresException e) when (!Unreachable.Is(e))
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

    /// <summary>
    /// Commits: what is queued and the transaction's id in one round trip, then the notifications (delivered to the
    /// listening nodes when the commit is) and COMMIT in another; a COMMIT that gets no answer is
    /// <see cref="CommitInDoubtException"/>.
    /// </summary>
    private static async Task CommitAsync(WriteContext db)
    {
        // every op's statements, then the transaction's id: known before COMMIT is sent, whatever becomes of its answer
        var id = await db.ScalarAsync("SELECT pg_current_xact_id_if_assigned()::text") as string;
        foreach (var channel in db.Notifications)
            db.Queue($"NOTIFY {channel}");
        try
        {
            await db.ExecAsync("COMMIT");
        }
        catch (Exception e) when (id is not null && Unreachable.Is(e))
        {
            throw new CommitInDoubtException(id, e);
        }
    }

    /// <summary>Ends a transaction a failed statement left open (and aborted).</summary>
    private static async Task RollbackAsync(NpgsqlConnection connection)
    {
        await using var rollback = new NpgsqlCommand("ROLLBACK", connection);
        await rollback.ExecuteNonQueryAsync();
    }

    /// <summary>A COMMIT that got no answer (<see cref="ResolveAsync"/>); <see cref="TransactionId"/> is its xid8, as text.</summary>
    private sealed class CommitInDoubtException(string transactionId, Exception inner) : Exception("the commit's outcome is unknown", inner)
    {
        public string TransactionId { get; } = transactionId;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
    }

    [LoggerMessage(2101, LogLevel.Error, "Group commit of {Count} writes to PostgreSQL failed")]
    private static partial void LogCommitFailed(ILogger logger, Exception e, int count);

    [LoggerMessage(2106, LogLevel.Warning, "The connection to PostgreSQL failed during the commit of {Count} writes; the database says they committed")]
    private static partial void LogInDoubtCommitted(ILogger logger, int count);

    [LoggerMessage(2107, LogLevel.Error,
        "The connection to PostgreSQL failed during the commit of {Count} writes, and in {Seconds} s the database could not say whether they committed: " +
        "they are refused, and may be stored all the same (a message sent again is then delivered twice)")]
    private static partial void LogInDoubtUnknown(ILogger logger, Exception? e, int count, double seconds);
}
