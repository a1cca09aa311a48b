using System.Buffers;

namespace Hermod.Storage.Sqlite;

/// <summary>
/// The bytes of one blob chunk on their way into a commit. A small chunk rides in its row (a pooled buffer until
/// then); a large one is appended to a segment file by the session that has it — outside the writer's thread — and
/// its row points there (<see cref="BlobSegments"/>).
/// </summary>
internal sealed class ChunkData
{
    /// <summary>Chunks from this size on go to a segment file.</summary>
    public const int SegmentThreshold = 16 * 1024;

    private readonly byte[]? _buffer;
    private readonly int _count;
    private readonly Extent? _extent;
    private readonly BlobSegments? _segments;

    private ChunkData(byte[] buffer, int count)
    {
        _buffer = buffer;
        _count = count;
    }

    private ChunkData(Extent extent, BlobSegments segments)
    {
        _extent = extent;
        _segments = segments;
    }

    /// <summary>
    /// Takes what <paramref name="blob"/> has buffered (the <paramref name="last"/> chunk: the body is complete); a large
    /// chunk is written to a segment before this returns.
    /// </summary>
    public static async ValueTask<ChunkData> TakeAsync(SqliteBlobWriter blob, BlobSegments segments, bool last)
    {
        var (data, count) = blob.TakeBuffer(last);
        if (count < SegmentThreshold)
            return new ChunkData(data, count);
        try
        {
            var extent = await segments.AppendAsync(data.AsMemory(0, count), CancellationToken.None);
            blob.InSegments = true;
            return new ChunkData(extent, segments);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(data);
        }
    }

    public int Length => _extent?.Length ?? _count;

    /// <summary>The chunk's row: its bytes, or where they lie.</summary>
    public void Insert(WriteContext db, long blobId, int seq)
    {
        if (_extent is { } e)
            db.Exec("INSERT INTO blob_chunks (blob_id, seq, data, segment, seg_offset, length) VALUES ($p0, $p1, X'', $p2, $p3, $p4)",
                blobId, seq, e.Segment, e.Offset, e.Length);
        else
            db.Exec("INSERT INTO blob_chunks (blob_id, seq, data) VALUES ($p0, $p1, $p2)", blobId, seq, new ArraySegment<byte>(_buffer!, 0, _count));
    }

    /// <summary>After the commit (or its failure): the buffer goes back to the pool, or the segment learns the append is settled.</summary>
    public void Release()
    {
        if (_buffer is not null)
            ArrayPool<byte>.Shared.Return(_buffer);
        else
            _segments!.Recorded(_extent!.Value);
    }
}
