using Hermod.Core.Storage;
using Hermod.Delivery.Routing;

namespace Hermod.Delivery.Transport;

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
