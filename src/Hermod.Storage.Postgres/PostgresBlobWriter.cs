using Hermod.Core.IO;
using Hermod.Core.Storage;

namespace Hermod.Storage.Postgres;

/// <summary>
/// Buffers a body up to one chunk in pooled memory. A small body goes to the database only in the commit that
/// accepts it; a large one is staged chunk by chunk (a bytea row each) under a blob row without a hash, owned by this
/// node, which the accept turns into a content-addressed blob (or drops, when an equal blob is already stored).
/// </summary>
internal sealed class PostgresBlobWriter(PostgresMessageStore store, int chunkSize) : IBlobWriter
{
    private readonly PooledBuffer _buffer = new(Math.Min(chunkSize, 4096));
    private bool _disposed;

    public long Length { get; private set; }

    /// <summary>The staging blob row, once a chunk has been written; 0 before.</summary>
    public long StagingId { get; set; }

    public int ChunksWritten { get; set; }

    public bool Accepted { get; set; }

    public bool ShouldFlush => _buffer.Count >= chunkSize;

    /// <summary>The bytes buffered since the last chunk went out: the last chunk, once the body is complete.</summary>
    public ArraySegment<byte> Tail => _buffer.Written;

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

    /// <summary>Stages the buffered bytes as the next chunk; the buffer is free again when this returns.</summary>
    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_buffer.Count == 0)
            return;
        await store.StageChunkAsync(this, Tail, cancellationToken);
        ChunksWritten++;
        _buffer.Clear();
    }

    public byte[]? ContentHash { get; set; }

    public string? ContentEncoding { get; set; }

    public long? DecodedLength { get; set; }

    /// <summary>The staged chunks, then the buffered tail: the whole body written so far, read a chunk at a time.</summary>
    public ValueTask<Stream> OpenReadAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var stagingId = StagingId;
        var chunks = ChunksWritten;
        var tail = Tail.ToArray();
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
