using Hermod.Core.Storage;
using Hermod.Delivery.Transport;

namespace Hermod.Delivery.Targets;

/// <summary>One delivery of one message to one target.</summary>
public interface ITargetDelivery : IAsyncDisposable
{
    /// <summary>Adds a recipient; null when it is accepted for now, else its final reply for this attempt (the others go on).</summary>
    Task<UpstreamReply?> AddRecipientAsync(QueuedRecipient recipient, CancellationToken cancellationToken);

    /// <summary>
    /// The body is on its way (a client is sending it, cut-through): a delivery may open its content phase now — SMTP
    /// sends DATA — so that <see cref="BodyAsync"/> costs a round trip less. Returns at once and never throws: what
    /// goes wrong is <see cref="BodyAsync"/>'s answer. By default nothing.
    /// </summary>
    void PrepareBody()
    {
    }

    /// <summary>Sends the body; returns a reply for each recipient that was accepted by <see cref="AddRecipientAsync"/> (by delivery id).</summary>
    Task<TransportResult> BodyAsync(CancellationToken cancellationToken);

    /// <summary>Makes the delivery final (e.g. maildir: tmp to new). Replies of <see cref="BodyAsync"/> stand only after this.</summary>
    Task CommitAsync(CancellationToken cancellationToken);

    /// <summary>Undoes what can be undone; called instead of <see cref="CommitAsync"/> when the delivery is given up.</summary>
    Task AbortAsync(CancellationToken cancellationToken);
}
