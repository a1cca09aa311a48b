using System.Buffers;
using System.Text;
using Hermod.Core.Storage;

namespace Hermod.TestKit;

/// <summary>A blob held in memory, for code that takes an <see cref="IBlobWriter"/> without a store behind it.</summary>
public sealed class MemoryBlob(string content = "") : IBlobWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = Filled(content);

    private static ArrayBufferWriter<byte> Filled(string content)
    {
        var buffer = new ArrayBufferWriter<byte>();
        buffer.Write(Encoding.Latin1.GetBytes(content));
        return buffer;
    }

    public long Length => _buffer.WrittenCount;

    public bool ShouldFlush => false;

    public byte[]? ContentHash { get; set; }

    public string? ContentEncoding { get; set; }

    public long? DecodedLength { get; set; }

    /// <summary>True once disposed: whoever held the blob let it go.</summary>
    public bool Disposed { get; private set; }

    public void Advance(int count) => _buffer.Advance(count);

    public Memory<byte> GetMemory(int sizeHint = 0) => _buffer.GetMemory(sizeHint);

    public Span<byte> GetSpan(int sizeHint = 0) => _buffer.GetSpan(sizeHint);

    public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask<Stream> OpenReadAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<Stream>(new MemoryStream(_buffer.WrittenSpan.ToArray(), writable: false));

    public ValueTask DisposeAsync()
    {
        Disposed = true;
        return ValueTask.CompletedTask;
    }
}
