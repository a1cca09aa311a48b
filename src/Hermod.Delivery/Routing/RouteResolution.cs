using System.Net;
using Hermod.Core.Storage;
using Hermod.Delivery.Configuration;

namespace Hermod.Delivery.Routing;

/// <summary>One host to try: its name (for TLS and logs) and an address.</summary>
public sealed record NextHop(string Name, IPEndPoint EndPoint);

/// <summary>Where a route's mail goes, in the order to try, or why it cannot go anywhere.</summary>
public sealed record RouteResolution(
    IReadOnlyList<NextHop> Hops,
    OutboundTls Tls,
    NetworkCredential? Credentials = null,
    UpstreamReply? Failure = null,
    bool Permanent = false,
    bool Held = false)
{
    public static RouteResolution Fail(UpstreamReply reply, bool permanent) => new([], OutboundTls.None, null, reply, permanent);

    /// <summary>Nowhere to deliver yet (a local domain without a target): hold the mail, do not retry or bounce it.</summary>
    public static RouteResolution Hold(string reason) => new([], OutboundTls.None, null, UpstreamReply.NoReply(null, new(4, 3, 0), reason), Held: true);
}
