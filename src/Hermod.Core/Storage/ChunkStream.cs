using System.IO.Compression;

namespace Hermod.Core.Storage;

/// <summary>Reads a blob chunk by chunk (one chunk in memory at a time): chunk n comes from a loader until it returns null.</summary>
public sealed class ChunkStream(Func<int, CancellationToken, Task<byte[]?>> chunkAt) : Stream
{
    private byte[] _current = [];
    private int _next;
    private int _offset;
    private bool _ended;

    /// <summary>The decoded body of a blob stored with <paramref name="encoding"/> (null: as is).</summary>
    public static Stream Decode(Stream stored, string? encoding) => encoding switch
    {
        null => stored,
        "br" => new BrotliStream(stored, CompressionMode.Decompress),
        _ => throw new InvalidDataException($"unknown blob encoding '{encoding}'"),
    };

    /// <summary>Skips <paramref name="count"/> bytes of <paramref name="stream"/> (a header block replaced by a rewritten one).</summary>
    public static async Task SkipAsync(Stream stream, long count, CancellationToken cancellationToken)
    {
        var buffer = new byte[Math.Min(Math.Max(count, 1), 16 * 1024)];
        while (count > 0)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), cancellationToken);
            if (read == 0)
                return;
            count -= read;
        }
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_offset == _current.Length)
        {
            if (_ended)
                return 0;
            var chunk = await chunkAt(_next++, cancellationToken);
            if (chunk is null)
            {
                _ended = true;
                return 0;
            }
            _current = chunk;
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
