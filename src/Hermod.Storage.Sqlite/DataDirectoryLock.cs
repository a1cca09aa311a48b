namespace Hermod.Storage.Sqlite;

/// <summary>
/// The one server of a data directory: an exclusive lock on <c>hermod.lock</c> held while the store is open, and
/// the holder's process id in <c>hermod.pid</c>. A second server on the same directory would take up the first one's
/// deliveries in flight as its own, so it refuses to start instead; the command line, which never takes up work,
/// opens the store beside a running server without the lock. The kernel lets go of the lock when the process ends,
/// kill -9 included.
/// </summary>
internal sealed class DataDirectoryLock : IDisposable
{
    private readonly FileStream _lock;

    private DataDirectoryLock(FileStream @lock) => _lock = @lock;

    /// <exception cref="IOException">Another process holds the directory; the message names it.</exception>
    public static DataDirectoryLock Acquire(string dataDir)
    {
        var path = Path.Combine(Path.GetFullPath(dataDir), "hermod.lock");
        var pidFile = Path.Combine(Path.GetFullPath(dataDir), "hermod.pid");
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); // flock(LOCK_EX | LOCK_NB)
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            var holder = File.Exists(pidFile) ? File.ReadAllText(pidFile).Trim() : "";
            throw new IOException($"the data directory {Path.GetFullPath(dataDir)} is in use by " +
                (holder.Length > 0 ? $"process {holder}" : "another process") + $" ({path} is locked): one server per data directory", e);
        }
        File.WriteAllText(pidFile, $"{Environment.ProcessId}\n");
        return new DataDirectoryLock(stream);
    }

    public void Dispose() => _lock.Dispose();
}
