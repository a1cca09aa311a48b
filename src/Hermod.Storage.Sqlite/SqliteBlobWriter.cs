using Hermod.Core.IO;
using Hermod.Core.Storage;

namespace Hermod.Storage.Sqlite;

/// <summary>
/// Buffers a body up to one chunk in pooled memory. A small body never touches storage before the commit
/// that accepts it; a large one is staged chunk by chunk under a blob row without a hash, which the accept
/// turns into a content-addressed blob (or drops, when an equal blob is already stored).
/// </summary>
internal sealed class SqliteBlobWriter(SqliteMessageStore store, int chunkSize) : IBlobWriter
{
    private readonly PooledBuffer _buffer = new(Math.Min(chunkSize, 4096));
    private bool _disposed;

    public long Length { get; private set; }

    /// <summary>The staging blob row, once a chunk has been written; 0 before.</summary>
    public long StagingId { get; set; }

    public int ChunksWritten { get; set; }

    public bool Accepted { get; set; }

    /// <summary>Some chunk of this body went to a segment file (its record must not be durable before the segment is).</summary>
    public bool InSegments { get; set; }

    public bool ShouldFlush => _buffer.Count >= chunkSize;

    public void Advance(int count)
    {
        _buffer.Advance(count);
        Length += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _buffer.GetMemory(sizeHint);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _buffer.GetSpan(sizeHint);
    }

    /// <summary>Sends the buffered bytes to storage as the next chunk (no fsync needed: see <see cref="GroupCommitWriter"/>).</summary>
    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_buffer.Count == 0)
            return;
        await store.WriteChunkAsync(this);
    }

    /// <summary>
    /// Hands the buffered bytes over (the taker returns the array to the pool) and starts a new buffer — none after the
    /// <paramref name="last"/> chunk: a record waiting for its commit holds one pooled array, not two.
    /// </summary>
    public (byte[] Data, int Count) TakeBuffer(bool last) => _buffer.Take(last ? 0 : Math.Min(chunkSize, Math.Max(4096, _buffer.Count)));

    public byte[]? ContentHash { get; set; }

    public string? ContentEncoding { get; set; }

    public long? DecodedLength { get; set; }

    /// <summary>The staged chunks, then the buffered tail: the whole body written so far, read a chunk at a time.</summary>
    public ValueTask<Stream> OpenReadAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var stagingId = StagingId;
        var chunks = ChunksWritten;
        var tail = _buffer.Written.ToArray();
        Stream stream = new ChunkStream(async (seq, ct) => seq < chunks ? await store.ReadChunkAsync(stagingId, seq, ct) : seq == chunks ? tail : null);
        return ValueTask.FromResult(ChunkStream.Decode(stream, ContentEncoding));
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        _buffer.Release();
        if (StagingId != 0 && !Accepted)
            await store.DropStagingAsync(StagingId);
    }
}
