namespace Hermod.Storage.Sqlite;

/// <summary>Reads a body that is still being written: its staged chunks one at a time, then the buffered tail.</summary>
internal sealed class StagedBodyStream(SqliteMessageStore store, long stagingId, int chunks, byte[] tail) : Stream
{
    private byte[] _current = chunks == 0 ? tail : [];
    private int _next = chunks == 0 ? chunks + 1 : 0; // chunk numbers; "chunks" is the tail
    private int _offset;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_offset == _current.Length)
        {
            if (_next > chunks)
                return 0;
            _current = _next == chunks ? tail : await store.ReadStagedChunkAsync(stagingId, _next, cancellationToken);
            _next++;
            _offset = 0;
        }
        var n = Math.Min(buffer.Length, _current.Length - _offset);
        _current.AsMemory(_offset, n).CopyTo(buffer);
        _offset += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
