using System.Buffers;
using System.Text;

namespace Hermod.Mime.Writing;

/// <summary>
/// The builder's output buffer: encoders write into it synchronously (it is an <see cref="IBufferWriter{T}"/>), and
/// the builder hands it to the stream whenever it passes <see cref="FlushThreshold"/>, so a message of any size goes
/// out through a buffer of a few pages (it grows only for one oversized header field).
/// </summary>
internal sealed class MimeOutput(Stream stream) : IBufferWriter<byte>, IDisposable
{
    public const int FlushThreshold = 16 * 1024;

    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(FlushThreshold * 2);
    private int _count;

    public void Advance(int count) => _count += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsMemory(_count);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Reserve(sizeHint);
        return _buffer.AsSpan(_count);
    }

    public void Write(string text) => EncodingExtensions.GetBytes(Encoding.UTF8, text, this);

    public void Write(ReadOnlySpan<byte> bytes) => BuffersExtensions.Write(this, bytes);

    public ValueTask FlushIfFullAsync(CancellationToken cancellationToken) =>
        _count >= FlushThreshold ? FlushAsync(cancellationToken) : ValueTask.CompletedTask;

    public async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_count == 0)
            return;
        await stream.WriteAsync(_buffer.AsMemory(0, _count), cancellationToken);
        _count = 0;
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
            ArrayPool<byte>.Shared.Return(buffer);
    }

    private void Reserve(int sizeHint)
    {
        sizeHint = Math.Max(sizeHint, 16);
        if (_buffer.Length - _count >= sizeHint)
            return;
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _count + sizeHint));
        _buffer.AsSpan(0, _count).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }
}
