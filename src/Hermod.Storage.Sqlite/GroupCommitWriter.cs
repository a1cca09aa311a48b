using System.Diagnostics;
using Hermod.Core.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Hermod.Storage.Sqlite;

/// <summary>A unit of work for the single writer; runs inside a shared transaction (in a savepoint of its own unless <see cref="Repeatable"/>).</summary>
internal abstract class WriteOp
{
    private TaskCompletionSource? _done;

    /// <summary>
    /// Completes after the commit. What awaits an op runs on the thread pool, not on the writer's thread — except for
    /// ops that <see cref="CanWait"/>: their awaiters only tidy up (nobody is answered), so a batch of them finishes
    /// on the writer's thread and wakes no other. Read before the op is queued (<see cref="GroupCommitWriter.EnqueueAsync"/>).
    /// </summary>
    public Task Completion =>
        (_done ??= new TaskCompletionSource(CanWait ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Whether the commit that carries this op must be fsync'd before it completes.</summary>
    public virtual bool NeedsSync => true;

    /// <summary>Whether the files the commit's rows point at (body segments) must be made durable before it commits.</summary>
    public virtual bool NeedsSegmentSync => NeedsSync;

    /// <summary>
    /// Nobody waits for this op to answer a client (the record of a message the next hops already took): the writer may
    /// hold it back for up to <see cref="GroupCommitWriter.HoldBack"/>, so that it shares a commit with the ops after it.
    /// </summary>
    public virtual bool CanWait => false;

    /// <summary>
    /// Execute changes nothing but the database: run again after a rollback, it does the same. A batch of such ops
    /// runs without a savepoint each (the writer falls back to savepoints, and runs them again, when one fails).
    /// </summary>
    public virtual bool Repeatable => false;

    public abstract void Execute(WriteContext context);

    /// <summary>Called after the commit, successful or not; releases buffers.</summary>
    public virtual void Release()
    {
    }

    public void Complete(Exception? error)
    {
        Release();
        _ = Completion;
        if (error is null)
            _done!.TrySetResult();
        else
            _done!.TrySetException(error);
    }
}

/// <summary>The writer's connection and its prepared statements.</summary>
internal sealed class WriteContext(SqliteConnection connection) : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = [];

    public SqliteConnection Connection { get; } = connection;
    public SqliteTransaction? Transaction { get; set; }

    /// <summary>A prepared command for <paramref name="sql"/>, reused across calls; parameters are $p0, $p1, ...</summary>
    public SqliteCommand Command(string sql, params object?[] values)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            command = Connection.CreateCommand();
            command.CommandText = sql;
            for (var i = 0; i < values.Length; i++)
                command.Parameters.Add(new SqliteParameter("$p" + i, null));
            _commands[sql] = command;
        }
        command.Transaction = Transaction;
        for (var i = 0; i < values.Length; i++)
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        return command;
    }

    public void Exec(string sql, params object?[] values) => Command(sql, values).ExecuteNonQuery();

    public object? Scalar(string sql, params object?[] values) => Command(sql, values).ExecuteScalar();

    public void Dispose()
    {
        foreach (var command in _commands.Values)
            command.Dispose();
        Connection.Dispose();
    }
}

/// <summary>
/// The single SQLite writer. Callers enqueue ops and await them; the writer takes everything queued,
/// runs it in one transaction (a savepoint per op, so one failure spoils nothing else), commits once
/// and completes them all: many sessions share one fsync (group commit).
/// </summary>
internal sealed partial class GroupCommitWriter : IAsyncDisposable
{
    private readonly object _gate = new(); // a monitor: the writer waits on it
    private readonly Queue<WriteOp> _queue = new(); // under _gate
    private bool _closed; // under _gate
    private bool _idle; // under _gate: the writer waits for work
    private bool _holding; // under _gate: the writer holds ops that can wait back; only one that cannot wakes it
    private readonly WriteContext _context;
    private readonly int _maxBatch;
    private readonly HermodMetrics _metrics;
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private bool _synchronousFull = true;

    private readonly Action _syncFiles;
    private readonly Action _committed;

    /// <param name="syncFiles">Makes the files rows point at durable (<see cref="BlobSegments.SyncWritten"/>): before a commit that needs it.</param>
    /// <param name="committed">After each commit (<see cref="WalCheckpointer.Written"/>).</param>
    public GroupCommitWriter(SqliteConnection connection, int maxBatch, HermodMetrics metrics, ILogger logger, Action syncFiles, Action committed)
    {
        _syncFiles = syncFiles;
        _committed = committed;
        _context = new WriteContext(connection);
        _maxBatch = maxBatch;
        _metrics = metrics;
        _logger = logger;
        _thread = new Thread(Run) { IsBackground = true, Name = "hermod-sqlite-writer" };
        _thread.Start();
    }

    public Task EnqueueAsync(WriteOp op)
    {
        var completion = op.Completion; // made before the writer can complete it
        lock (_gate)
        {
            if (!_closed)
            {
                _queue.Enqueue(op);
                if (_idle && !(_holding && op.CanWait))
                    Monitor.Pulse(_gate);
                return completion;
            }
        }
        op.Complete(new ObjectDisposedException(nameof(GroupCommitWriter)));
        return completion;
    }

    /// <summary>How long ops that <see cref="WriteOp.CanWait"/> may be held back to share a commit.</summary>
    public static readonly TimeSpan HoldBack = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// The writer's loop. It sleeps on a monitor when there is nothing to write: a blocking wait that does not spin,
    /// so an idle writer leaves the CPU to the sessions (a spinning wait cost more CPU than the writes themselves).
    /// A batch of nothing but ops that can wait is held back for more (one commit for many records is far cheaper
    /// than one each); any other op ends the wait.
    /// </summary>
    private void Run()
    {
        var batch = new List<WriteOp>(_maxBatch);
        while (true)
        {
            lock (_gate)
            {
                while (_queue.Count == 0 && !_closed)
                    Sleep(Timeout.Infinite);
                if (_queue.Count == 0)
                    break; // closed, and everything written
                var canWait = Take(batch);
                var deadline = Environment.TickCount64 + (long)HoldBack.TotalMilliseconds;
                _holding = canWait;
                while (canWait && !_closed && batch.Count + _queue.Count < _maxBatch && deadline - Environment.TickCount64 is > 0 and var left)
                {
                    Sleep((int)left);
                    canWait = _queue.All(op => op.CanWait);
                }
                _holding = false;
                Take(batch);
            }
            CommitBatch(batch);
            batch.Clear();
        }
        _context.Dispose();
    }

    /// <summary>Moves queued ops into the batch, up to its limit; true when every op moved can wait. Under <see cref="_gate"/>.</summary>
    private bool Take(List<WriteOp> batch)
    {
        var canWait = true;
        while (batch.Count < _maxBatch && _queue.TryDequeue(out var op))
        {
            batch.Add(op);
            canWait &= op.CanWait;
        }
        return canWait;
    }

    /// <summary>Waits for an op (or the timeout); under <see cref="_gate"/>.</summary>
    private void Sleep(int milliseconds)
    {
        _idle = true;
        Monitor.Wait(_gate, milliseconds);
        _idle = false;
    }

    private void CommitBatch(List<WriteOp> batch)
    {
        var started = Stopwatch.GetTimestamp();
        var needsSync = batch.Exists(op => op.NeedsSync);
        var errors = new Exception?[batch.Count];
        Exception? commitError = null;
        try
        {
            SetSynchronous(needsSync);
            if (!(batch.TrueForAll(op => op.Repeatable) && TryCommitWhole(batch)))
                CommitEach(batch, errors);
        }
        catch (Exception e)
        {
            commitError = e;
            LogCommitFailed(_logger, e, batch.Count);
        }
        finally
        {
            _context.Transaction = null;
        }
        _metrics.CommitBatchSize.Record(batch.Count);
        _metrics.CommitDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        for (var i = 0; i < batch.Count; i++)
            batch[i].Complete(commitError ?? errors[i]);
    }

    /// <summary>Every op in one transaction, no savepoints; false (rolled back) when an op failed.</summary>
    private bool TryCommitWhole(List<WriteOp> batch)
    {
        using var transaction = _context.Connection.BeginTransaction(deferred: false);
        _context.Transaction = transaction;
        try
        {
            foreach (var op in batch)
                op.Execute(_context);
        }
        catch (SqliteException)
        {
            transaction.Rollback();
            return false;
        }
        Commit(batch, transaction);
        return true;
    }

    /// <summary>Each op in a savepoint of one transaction: one that fails (its error kept) spoils nothing else.</summary>
    private void CommitEach(List<WriteOp> batch, Exception?[] errors)
    {
        using var transaction = _context.Connection.BeginTransaction(deferred: false);
        _context.Transaction = transaction;
        for (var i = 0; i < batch.Count; i++)
        {
            _context.Exec("SAVEPOINT op");
            try
            {
                batch[i].Execute(_context);
                _context.Exec("RELEASE op");
            }
            catch (SqliteException e)
            {
                errors[i] = e;
                _context.Exec("ROLLBACK TO op");
                _context.Exec("RELEASE op");
            }
        }
        Commit(batch, transaction);
    }

    private void Commit(List<WriteOp> batch, SqliteTransaction transaction)
    {
        if (batch.Exists(op => op.NeedsSegmentSync))
            _syncFiles(); // the body bytes the rows point at are on disk before the rows are
        transaction.Commit();
        _committed();
    }

    /// <summary>
    /// Batches that only stage body chunks commit without fsync: a later synchronous commit fsyncs the
    /// write-ahead log, and with it every frame before it, before any message that refers to them is acknowledged.
    /// </summary>
    private void SetSynchronous(bool full)
    {
        if (full == _synchronousFull)
            return;
        _context.Exec(full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
        _synchronousFull = full;
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _closed = true;
            Monitor.Pulse(_gate);
        }
        await Task.Run(_thread.Join);
    }

    [LoggerMessage(2001, LogLevel.Error, "Group commit of {Count} writes failed")]
    private static partial void LogCommitFailed(ILogger logger, Exception e, int count);
}
