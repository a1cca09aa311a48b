using Hermod.Core.Storage;
using Hermod.Delivery.Transport;

namespace Hermod.Delivery.Targets;

/// <summary>
/// One message on its way to a target: the stored message, the destination domain of the job (the recipients'
/// domain), and a way to write the stored content (trace headers, header block, body) byte-exact.
/// <see cref="Interactive"/>: a client is waiting (cut-through) — the message is still arriving (its size may be
/// unknown: 0, its deliveries empty), and each recipient must be put to the next hop as it is added, so that its
/// answer is the next hop's; the content can be written only once the body is complete.
/// </summary>
public sealed record TargetMessage(StoredMessage Message, string Domain, Func<Stream, CancellationToken, Task> WriteContentAsync, bool Interactive = false);

/// <summary>
/// Where a recipient's copy goes (maddy's two-phase delivery): a target is built from configuration by name;
/// each delivery is started, given its recipients one by one (a target may refuse one early), then the body, then
/// committed or aborted. Failures are replies, never exceptions: 2xx delivered, 4xx (or code 0 with a 4.x.x
/// status) temporary and retried, 5xx permanent.
/// </summary>
public interface IDeliveryTarget
{
    string Name { get; }

    Task<ITargetDelivery> StartAsync(TargetMessage message, CancellationToken cancellationToken);
}

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
