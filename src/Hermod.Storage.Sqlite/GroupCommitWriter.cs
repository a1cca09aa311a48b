using System.Diagnostics;
using System.Globalization;
using System.Text;
using Hermod.Core.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using SQLitePCL;

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

/// <summary>
/// The writer's connection and its prepared statements. <see cref="Exec"/> and <see cref="Scalar"/> bind and step
/// through SQLite's own API: no command, parameter or reader objects per call, strings encoded into a reused buffer —
/// the writer runs them for every message, and what it allocates and spends shows in the sessions' latency.
/// <see cref="Command"/> is for the few writes that read rows back.
/// </summary>
internal sealed class WriteContext : IDisposable
{
    private readonly Dictionary<string, SqliteCommand> _commands = [];
    private readonly Dictionary<string, Statement[]> _statements = [];
    private readonly sqlite3 _db;
    private byte[] _text = new byte[1024]; // UTF-8 of a string value while it is bound (SQLite copies it)

    public WriteContext(SqliteConnection connection)
    {
        Connection = connection;
        _db = connection.Handle!;
    }

    public SqliteConnection Connection { get; }
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

    /// <summary>Runs every statement of <paramref name="sql"/> with $p0, $p1, ... bound to <paramref name="values"/>.</summary>
    public void Exec(string sql, params object?[] values) => Run(sql, values, scalar: false);

    /// <summary>Like <see cref="Exec"/>; the first column of the last statement's first row (long, double, string, byte[]), or null.</summary>
    public object? Scalar(string sql, params object?[] values) => Run(sql, values, scalar: true);

    /// <summary>Runs an INSERT like <see cref="Exec"/>; the rowid of the row it inserted (cheaper than RETURNING, which stages its rows).</summary>
    public long Insert(string sql, params object?[] values)
    {
        Run(sql, values, scalar: false);
        return raw.sqlite3_last_insert_rowid(_db);
    }

    private object? Run(string sql, object?[] values, bool scalar)
    {
        if (!_statements.TryGetValue(sql, out var statements))
            _statements[sql] = statements = Prepare(sql);
        object? result = null;
        foreach (var statement in statements)
        {
            var stmt = statement.Handle;
            try
            {
                for (var j = 0; j < statement.Parameters.Length; j++)
                    Bind(stmt, j + 1, values[statement.Parameters[j]]);
                var rc = raw.sqlite3_step(stmt);
                result = rc == raw.SQLITE_ROW && scalar ? Column(stmt) : null;
                while (rc == raw.SQLITE_ROW && !scalar)
                    rc = raw.sqlite3_step(stmt); // run to its end: every row's changes made, every error seen
                if (rc is not (raw.SQLITE_ROW or raw.SQLITE_DONE))
                    SqliteException.ThrowExceptionForRC(rc, _db);
            }
            finally
            {
                raw.sqlite3_reset(stmt); // a RETURNING statement's changes are made by its first step
                raw.sqlite3_clear_bindings(stmt);
            }
        }
        return result;
    }

    private Statement[] Prepare(string sql)
    {
        var statements = new List<Statement>();
        var rest = sql;
        while (rest.Trim().Length > 0)
        {
            var rc = raw.sqlite3_prepare_v2(_db, rest, out var stmt, out var tail);
            if (rc != raw.SQLITE_OK)
                SqliteException.ThrowExceptionForRC(rc, _db);
            rest = tail;
            if (stmt.IsInvalid)
                continue; // only a comment or whitespace
            // slot j (from 1) takes value number Parameters[j - 1]: the statement names them $p0, $p1, ... in any order
            var parameters = new int[raw.sqlite3_bind_parameter_count(stmt)];
            for (var j = 1; j <= parameters.Length; j++)
            {
                var name = raw.sqlite3_bind_parameter_name(stmt, j).utf8_to_string();
                parameters[j - 1] = name.StartsWith("$p", StringComparison.Ordinal) && int.TryParse(name.AsSpan(2), CultureInfo.InvariantCulture, out var n)
                    ? n
                    : throw new ArgumentException($"parameter {name} is not named $p0, $p1, ...", nameof(sql));
            }
            statements.Add(new Statement(stmt, parameters));
        }
        return [.. statements];
    }

    private void Bind(sqlite3_stmt stmt, int index, object? value)
    {
        var rc = value switch
        {
            null or DBNull => raw.sqlite3_bind_null(stmt, index),
            string text => BindText(stmt, index, text),
            long n => raw.sqlite3_bind_int64(stmt, index, n),
            int n => raw.sqlite3_bind_int64(stmt, index, n),
            bool b => raw.sqlite3_bind_int64(stmt, index, b ? 1 : 0),
            double d => raw.sqlite3_bind_double(stmt, index, d),
            byte[] bytes => raw.sqlite3_bind_blob(stmt, index, bytes),
            ArraySegment<byte> bytes => raw.sqlite3_bind_blob(stmt, index, bytes.AsSpan()),
            _ => throw new ArgumentException($"cannot bind a {value.GetType().Name} to parameter {index}", nameof(value)),
        };
        if (rc != raw.SQLITE_OK)
            SqliteException.ThrowExceptionForRC(rc, _db);
    }

    private int BindText(sqlite3_stmt stmt, int index, string text)
    {
        var length = Encoding.UTF8.GetMaxByteCount(text.Length);
        if (length > _text.Length)
            _text = new byte[Math.Max(length, _text.Length * 2)];
        var count = Encoding.UTF8.GetBytes(text, _text);
        return raw.sqlite3_bind_text(stmt, index, _text.AsSpan(0, count)); // SQLITE_TRANSIENT: SQLite takes a copy
    }

    private static object? Column(sqlite3_stmt stmt) => raw.sqlite3_column_type(stmt, 0) switch
    {
        raw.SQLITE_INTEGER => raw.sqlite3_column_int64(stmt, 0),
        raw.SQLITE_FLOAT => raw.sqlite3_column_double(stmt, 0),
        raw.SQLITE_TEXT => raw.sqlite3_column_text(stmt, 0).utf8_to_string(),
        raw.SQLITE_BLOB => raw.sqlite3_column_blob(stmt, 0).ToArray(),
        _ => null,
    };

    private sealed record Statement(sqlite3_stmt Handle, int[] Parameters);

    public void Dispose()
    {
        foreach (var command in _commands.Values)
            command.Dispose();
        foreach (var statement in _statements.Values.SelectMany(s => s))
            statement.Handle.Dispose();
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

    /// <summary>
    /// How long ops that <see cref="WriteOp.CanWait"/> may be held back to share a commit. Each commit rewrites the last
    /// page of every table and index it appends to, so more records per commit cost less each (25 ms against 10: writer
    /// CPU per cut-through record −15 to −20 %, bench/README.md); much longer, and the records held at once (each
    /// with a pooled buffer) drain the shared array pool and cost the sessions more than the writer saves.
    /// </summary>
    public static readonly TimeSpan HoldBack = TimeSpan.FromMilliseconds(25);

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
