using System.Buffers;

namespace Hermod.Core.Storage;

/// <summary>Held: waiting for a delivery target (released by a restart with new configuration, or `queue retry`).</summary>
public enum DeliveryState { Queued, Inflight, Delivered, Deferred, Failed, Cancelled, Held }

public sealed record DeliverySummary(
    long Id,
    string Recipient,
    string Route,
    DeliveryState State,
    int Attempts,
    DsnNotify Notify,
    string? OriginalRecipient,
    DateTimeOffset? NextAttempt = null,
    UpstreamReply? LastReply = null,
    DsnKind DsnPending = DsnKind.None);

/// <summary>A header block that replaces the first <see cref="ReceivedLength"/> bytes of a body (the block as received); bytes as they go on the wire.</summary>
public sealed record ReplacedHeader(byte[] Block, long ReceivedLength);

/// <summary>
/// The attempt made while the client waited (cut-through): <see cref="RecipientOutcome.DeliveryId"/> is the index of the
/// recipient in the envelope (the delivery has no id yet); recipients without an outcome are queued. Outcomes are
/// answers (delivered, deferred, failed), never <see cref="AttemptStatus.Held"/>: a held route is not cut through.
/// </summary>
public sealed record CutThroughAttempt(DateTimeOffset Started, DateTimeOffset Ended, IReadOnlyList<RecipientOutcome> Outcomes)
{
    public bool DeliveredAll(int recipients) => Outcomes.Count == recipients && Outcomes.All(o => o.Status == AttemptStatus.Delivered);
}

/// <summary>A stored message with its recipients' states.</summary>
public sealed record StoredMessage(
    MessageEnvelope Envelope,
    long Size,
    DateTimeOffset Created,
    IReadOnlyList<DeliverySummary> Deliveries);

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

/// <summary>The durable queue: what both storage providers implement.</summary>
public interface IMessageStore
{
    IBlobWriter CreateBlobWriter();

    /// <summary>
    /// Makes the message and one delivery per recipient durable (committed and fsync'd, shared with
    /// concurrent callers by group commit). Only after this returns may a 250 be sent.
    /// <paramref name="headerPrefix"/> (trace headers) is stored with the message and precedes the body when read;
    /// <paramref name="header"/>, when modifiers rewrote the header block, follows it and replaces the block as received.
    /// <paramref name="cutThrough"/>: what the next hops already answered while the client waited, recorded as the
    /// first attempt in the same commit (a recipient delivered upstream is never sent again). When it delivered every
    /// recipient, the next hops are responsible: the commit does not wait for an fsync, and the record may be held back
    /// for a moment to share a commit with later ones — the caller answers its client without waiting for it.
    /// </summary>
    Task AcceptAsync(MessageEnvelope envelope, string headerPrefix, IBlobWriter body, CancellationToken cancellationToken, ReplacedHeader? header = null,
        CutThroughAttempt? cutThrough = null);

    Task<IReadOnlyList<StoredMessage>> ListAsync(DeliveryState? state, int limit, CancellationToken cancellationToken);

    Task<StoredMessage?> GetAsync(string id, CancellationToken cancellationToken);

    /// <summary>Writes the message as stored (trace headers, then the body) byte-exact; false when the id is unknown.</summary>
    Task<bool> CopyContentAsync(string id, Stream destination, CancellationToken cancellationToken);
}
