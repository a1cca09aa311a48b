using System.Buffers;
using Hermod.Core.IO;

namespace Hermod.Core.Storage;

/// <summary>A write-only stream into an <see cref="IBlobWriter"/> that flushes chunks to storage as they fill.</summary>
public sealed class BlobStream(IBlobWriter blob) : AsyncWriteStream
{
    protected override long BytesWritten => blob.Length;

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        blob.Write(buffer.Span);
        if (blob.ShouldFlush)
            await blob.FlushAsync(cancellationToken);
    }
}
