using System.Buffers;

namespace Hermod.Core.Storage;

/// <summary>A write-only stream into an <see cref="IBlobWriter"/> that flushes chunks to storage as they fill.</summary>
public sealed class BlobStream(IBlobWriter blob) : Stream
{
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => blob.Length;
    public override long Position { get => blob.Length; set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("use WriteAsync");

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        blob.Write(buffer.Span);
        if (blob.ShouldFlush)
            await blob.FlushAsync(cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
