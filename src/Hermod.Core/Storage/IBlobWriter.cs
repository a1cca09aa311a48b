using System.Buffers;

namespace Hermod.Core.Storage;

/// <summary>
/// Streams a message body into the blob store. Callers write with <see cref="IBufferWriter{T}"/> and
/// call <see cref="FlushAsync"/> whenever <see cref="ShouldFlush"/> says so; memory stays at about one chunk.
/// Disposing a writer that was not accepted drops what it wrote.
/// </summary>
public interface IBlobWriter : IBufferWriter<byte>, IAsyncDisposable
{
    /// <summary>Bytes written so far.</summary>
    long Length { get; }

    /// <summary>True when a full chunk is buffered and should go to storage before more is written.</summary>
    bool ShouldFlush { get; }

    ValueTask FlushAsync(CancellationToken cancellationToken);

    /// <summary>Reads back everything written so far, decoded (for body checks and modifiers before the message is accepted).</summary>
    ValueTask<Stream> OpenReadAsync(CancellationToken cancellationToken);

    /// <summary>The content address (set by the hash processor): a blob with an equal one is stored once. Null: the body is stored on its own.</summary>
    byte[]? ContentHash { get; set; }

    /// <summary>How the bytes are encoded at rest ("br": Brotli, set by the compress processor); null: as received.</summary>
    string? ContentEncoding { get; set; }

    /// <summary>With an encoding: the body's length once decoded.</summary>
    long? DecodedLength { get; set; }
}
