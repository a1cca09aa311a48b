using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Hermod.Storage.Sqlite;

/// <summary>
/// Copies the write-ahead log back into the database on a thread of its own, at idle priority (Linux), a while after
/// commits added to it. Left to SQLite, the commit that crosses its threshold would do it on the writer's thread: read
/// every page the log holds and write it again, then fsync the database, while sessions wait for that commit — and on
/// a small machine that burst of CPU delays whatever runs next to it. The writer still checkpoints itself once the log
/// passes <see cref="FallbackPages"/>, should this thread not get a CPU for that long.
/// </summary>
internal sealed partial class WalCheckpointer : IDisposable
{
    /// <summary>The writer's own threshold (<c>wal_autocheckpoint</c>): 64 MB of 4 KB pages.</summary>
    public const int FallbackPages = 16_000;

    /// <summary>How long after a commit the checkpoint runs: the commits of that time share it.</summary>
    private static readonly TimeSpan Delay = TimeSpan.FromMilliseconds(200);

    private readonly object _gate = new();
    private bool _written; // under _gate: a commit since the last checkpoint
    private bool _waiting; // under _gate: for a commit
    private bool _closed; // under _gate
    private readonly SqliteConnection _connection;
    private readonly ILogger _logger;
    private readonly Thread _thread;

    public WalCheckpointer(SqliteConnection connection, ILogger logger)
    {
        _connection = connection;
        _logger = logger;
        _thread = new Thread(Run) { IsBackground = true, Name = "hermod-sqlite-checkpoint" };
        _thread.Start();
    }

    /// <summary>A commit added to the log. Called by the writer; wakes this thread only when it sleeps.</summary>
    public void Written()
    {
        lock (_gate)
        {
            _written = true;
            if (_waiting)
                Monitor.Pulse(_gate);
        }
    }

    private void Run()
    {
        IdlePriority();
        using var checkpoint = _connection.CreateCommand();
        checkpoint.CommandText = "PRAGMA wal_checkpoint(PASSIVE);"; // never waits for the writer nor holds it up
        while (true)
        {
            lock (_gate)
            {
                while (!_written && !_closed)
                {
                    _waiting = true; // the next commit wakes it
                    Monitor.Wait(_gate);
                    _waiting = false;
                }
                if (!_closed)
                    Monitor.Wait(_gate, Delay); // later commits do not wake it again; closing does
                if (_closed)
                    break;
                _written = false;
            }
            try
            {
                checkpoint.ExecuteNonQuery();
            }
            catch (SqliteException e)
            {
                LogCheckpointFailed(_logger, e); // the next one (or the writer's own) catches up
            }
        }
    }

    /// <summary>SCHED_IDLE: runs only on a CPU nothing else wants (Linux; elsewhere the normal priority stays).</summary>
    private void IdlePriority()
    {
        if (!OperatingSystem.IsLinux())
            return;
        var none = 0;
        if (sched_setscheduler(0, SchedIdle, ref none) != 0)
            LogNoIdlePriority(_logger, Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError()));
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _closed = true;
            Monitor.Pulse(_gate);
        }
        _thread.Join();
        _connection.Dispose();
    }

    private const int SchedIdle = 5;

    // DllImport, not LibraryImport: the generated stubs need unsafe code, which this project does not allow.
    // pid 0: the calling thread; the parameter is struct sched_param { int sched_priority; }.
    [DllImport("libc", SetLastError = true)]
    private static extern int sched_setscheduler(int pid, int policy, ref int param);

    [LoggerMessage(2002, LogLevel.Warning, "Checkpoint of the write-ahead log failed")]
    private static partial void LogCheckpointFailed(ILogger logger, Exception e);

    [LoggerMessage(2003, LogLevel.Debug, "Checkpoints run at normal priority: {Reason}")]
    private static partial void LogNoIdlePriority(ILogger logger, string reason);
}
