using System.Globalization;
using Hermod.Core.IO;
using Microsoft.Win32.SafeHandles;

namespace Hermod.Storage.Sqlite;

/// <summary>Where one chunk of a body lies in a segment file.</summary>
internal readonly record struct Extent(long Segment, long Offset, int Length);

/// <summary>
/// Append-only segment files (<c>data_dir/blobs/NNNNNNNN.seg</c>) for the large chunks of bodies, so that body bytes
/// are written once, by the session that received them, instead of through the database (where each byte went into
/// the write-ahead log, then was copied into the database file by a checkpoint, all on the one writer thread).
/// <list type="bullet">
/// <item>Appends reserve their place under a short lock and write outside it, several sessions at once.</item>
/// <item>A chunk is durable once its segment was fsync'd: the writer calls <see cref="SyncWritten"/> before every commit
/// that must be durable, so a row that points at a chunk is never durable before the chunk itself.</item>
/// <item>A process never appends to a segment of an earlier run: a crash can leave bytes nobody points at, never
/// bytes that overwrite a chunk somebody does. Segments no row points at any more (retention, staged bodies of a
/// crashed run) are deleted by <see cref="Collect"/>, except the one being written and those with appends not yet
/// recorded.</item>
/// </list>
/// </summary>
internal sealed class BlobSegments : IDisposable
{
    private const string Suffix = ".seg";

    private readonly string _directory;
    private readonly long _maxSize;
    private readonly Lock _lock = new();
    private readonly Dictionary<long, Segment> _open = []; // segments with a write handle: the current one, and older ones still in use
    private readonly HashSet<Segment> _written = []; // written since the last sync
    private Segment? _current; // made at the first append: a process that never appends (the command line) makes none
    private long _lastId;
    private bool _disposed;

    private sealed class Segment(long id, SafeFileHandle handle)
    {
        public long Id { get; } = id;
        public SafeFileHandle Handle { get; } = handle;
        public long Reserved { get; set; } // bytes handed out
        public int Pending { get; set; } // appends not yet recorded (or given up)
    }

    /// <param name="maxSize">A segment takes appends until this size, then the next one starts.</param>
    public BlobSegments(string directory, long maxSize)
    {
        _directory = directory;
        _maxSize = maxSize;
        Directory.CreateDirectory(directory);
        Existing = _lastId = Directory.EnumerateFiles(directory, "*" + Suffix).Select(IdOf).DefaultIfEmpty(0).Max();
    }

    /// <summary>The highest segment number there was at the start (0: none).</summary>
    public long Existing { get; }

    private string PathOf(long id) => Path.Combine(_directory, id.ToString("D8", CultureInfo.InvariantCulture) + Suffix);

    private static long IdOf(string path) =>
        long.TryParse(Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : 0;

    /// <summary>A new, empty segment after every one there is, its directory entry made durable. Under the lock.</summary>
    private Segment Create()
    {
        SafeFileHandle handle;
        while (true)
        {
            try
            {
                handle = File.OpenHandle(PathOf(++_lastId), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
                break;
            }
            catch (IOException) when (File.Exists(PathOf(_lastId)))
            {
                // made since we looked (another process on this data directory): take the next
            }
        }
        DirectorySync.Flush(_directory);
        var segment = new Segment(_lastId, handle);
        _open[_lastId] = segment;
        return segment;
    }

    /// <summary>
    /// Appends <paramref name="data"/> and returns where it lies. The bytes are in the file (not yet on disk) when
    /// this returns. Pair with <see cref="Recorded"/> once the row that points at them committed or was given up.
    /// </summary>
    public async ValueTask<Extent> AppendAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        Segment segment;
        long offset;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_current is null)
                _current = Create();
            else if (_current.Reserved > 0 && _current.Reserved + data.Length > _maxSize)
            {
                var full = _current;
                _current = Create();
                CloseIfDone(full);
            }
            segment = _current;
            offset = segment.Reserved;
            segment.Reserved += data.Length;
            segment.Pending++;
        }
        try
        {
            await RandomAccess.WriteAsync(segment.Handle, data, offset, cancellationToken);
        }
        catch
        {
            Recorded(new Extent(segment.Id, offset, data.Length));
            throw;
        }
        lock (_lock)
            _written.Add(segment); // after the write: a sync from now on covers these bytes
        return new Extent(segment.Id, offset, data.Length);
    }

    /// <summary>The row for <paramref name="extent"/> committed, or never will: the segment may be collected once nothing points at it.</summary>
    public void Recorded(Extent extent)
    {
        lock (_lock)
            if (_open.TryGetValue(extent.Segment, out var segment))
            {
                segment.Pending--;
                CloseIfDone(segment);
            }
    }

    /// <summary>Makes every append so far durable (fsync of each segment written since the last time). On the writer's thread, before a durable commit.</summary>
    public void SyncWritten()
    {
        Segment[] written;
        lock (_lock)
        {
            if (_written.Count == 0)
                return;
            written = [.. _written];
            _written.Clear();
        }
        foreach (var segment in written)
            RandomAccess.FlushToDisk(segment.Handle);
        lock (_lock)
            foreach (var segment in written)
                CloseIfDone(segment);
    }

    /// <summary>An older segment is closed once nothing is pending and nothing is left to sync. Under the lock.</summary>
    private void CloseIfDone(Segment segment)
    {
        if (segment == _current || segment.Pending > 0 || _written.Contains(segment))
            return;
        _open.Remove(segment.Id);
        segment.Handle.Dispose();
    }

    /// <summary>Reads <paramref name="extent"/> whole (one chunk: bounded by the chunk size).</summary>
    public async Task<byte[]> ReadAsync(Extent extent, CancellationToken cancellationToken)
    {
        var data = new byte[extent.Length];
        using var handle = File.OpenHandle(PathOf(extent.Segment), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var read = 0;
        while (read < data.Length)
        {
            var n = await RandomAccess.ReadAsync(handle, data.AsMemory(read), extent.Offset + read, cancellationToken);
            if (n == 0)
                throw new InvalidDataException($"segment {PathOf(extent.Segment)} ends before {extent.Offset + extent.Length}");
            read += n;
        }
        return data;
    }

    /// <summary>
    /// Deletes the segments no row points at (<paramref name="inUse"/>: those some row does), except the current one
    /// and any with appends not yet recorded. On the writer's thread, so that <paramref name="inUse"/> is current.
    /// </summary>
    public void Collect(IReadOnlySet<long> inUse)
    {
        foreach (var path in Directory.EnumerateFiles(_directory, "*" + Suffix))
        {
            var id = IdOf(path);
            if (id == 0 || inUse.Contains(id))
                continue;
            lock (_lock)
            {
                if (_open.TryGetValue(id, out var segment) && (segment == _current || segment.Pending > 0 || _written.Contains(segment)))
                    continue;
                if (segment is not null)
                {
                    _open.Remove(id);
                    segment.Handle.Dispose();
                }
            }
            File.Delete(path);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
            foreach (var segment in _open.Values)
                segment.Handle.Dispose();
            _open.Clear();
        }
    }
}
