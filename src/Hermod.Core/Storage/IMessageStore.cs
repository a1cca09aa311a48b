namespace Hermod.Core.Storage;

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
