using Hermod.Core.Storage;

namespace Hermod.Delivery.Transport;

/// <summary>What the next hop answered for each recipient of a job (by delivery id).</summary>
public sealed record TransportResult(IReadOnlyDictionary<long, UpstreamReply> Replies, bool DsnSupported)
{
    /// <summary>Not attempted: the route holds the mail (see <see cref="Routing.RouteResolution.Hold"/>).</summary>
    public bool Held { get; init; }

    /// <summary>What a target threw, for the log: the replies say only that delivery failed here.</summary>
    public Exception? Fault { get; init; }
}
