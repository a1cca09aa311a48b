using Hermod.Core.Storage;
using Hermod.Delivery.Routing;

namespace Hermod.Delivery.Transport;

/// <summary>What the next hop answered for each recipient of a job (by delivery id).</summary>
public sealed record TransportResult(IReadOnlyDictionary<long, UpstreamReply> Replies, bool DsnSupported)
{
    /// <summary>Not attempted: the route holds the mail (see <see cref="Routing.RouteResolution.Hold"/>).</summary>
    public bool Held { get; init; }
}

/// <summary>Carries one job (one message, one destination) to the route's next hops.</summary>
public interface IMessageTransport
{
    /// <summary>Never throws for a failed delivery: failures are replies (code 0 with an enhanced status when no server said anything).</summary>
    /// <param name="writeContent">Writes the stored message (trace headers, header block, body) byte-exact.</param>
    Task<TransportResult> SendAsync(DeliveryJob job, RouteResolution route, Func<Stream, CancellationToken, Task> writeContent, CancellationToken cancellationToken);

    /// <summary>
    /// Begins a transaction whose recipients and content follow one by one while a client waits (cut-through); MAIL and
    /// the first recipient are sent before this returns. Never throws for a failed delivery: see <see cref="InteractiveSmtp.Failure"/>.
    /// </summary>
    Task<InteractiveSmtp> BeginAsync(StoredMessage message, RouteResolution route, EnvelopeRecipient first, CancellationToken cancellationToken);
}
