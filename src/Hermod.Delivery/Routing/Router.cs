using System.Net;
using Hermod.Core.Configuration;
using Hermod.Core.Storage;
using Hermod.Delivery.Configuration;
using Hermod.Dns;
using Hermod.Smtp.Configuration;

namespace Hermod.Delivery.Routing;

/// <summary>
/// Chooses next hops for a destination domain: static routes first (exact domain; local domains without one are
/// held; then "*"), else MX records by
/// preference (random among equals), the implicit MX (the domain's own A/AAAA) when there is no MX, null MX
/// (RFC 7505) and NXDOMAIN as permanent failures, DNS trouble as temporary.
/// </summary>
public sealed class Router(HermodOptions hermod, DeliveryOptions delivery, SmtpOptions smtp, IDnsResolver dns)
{
    private readonly Dictionary<string, RouteOptions> _routes = delivery.Routes.ToDictionary(r => r.Domain, StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _localDomains = new(smtp.LocalDomains, StringComparer.OrdinalIgnoreCase);

    public async Task<RouteResolution> ResolveAsync(string domain, CancellationToken cancellationToken)
    {
        var resolution = await ResolveHopsAsync(domain, cancellationToken);
        if (resolution.Failure is not null || !resolution.Hops.Any(IsSelf))
            return resolution;
        var others = resolution.Hops.Where(h => !IsSelf(h)).ToList();
        return others.Count > 0
            ? resolution with { Hops = others }
            : RouteResolution.Fail(UpstreamReply.NoReply(null, new(5, 4, 6), $"mail for {domain} loops back to myself"), permanent: true);
    }

    /// <summary>A hop that is one of our own SMTP listeners (an MX pointing at us, with no route for the domain).</summary>
    private bool IsSelf(NextHop hop)
    {
        foreach (var listener in smtp.Listeners)
        {
            var bound = listener.Address;
            if (bound.Port != hop.EndPoint.Port)
                continue;
            if (bound.Address.Equals(hop.EndPoint.Address))
                return true;
            if ((bound.Address.Equals(IPAddress.Any) || bound.Address.Equals(IPAddress.IPv6Any)) && IsLocalAddress(hop.EndPoint.Address))
                return true;
        }
        return false;
    }

    private static bool IsLocalAddress(IPAddress address) =>
        IPAddress.IsLoopback(address) || System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(i => i.GetIPProperties().UnicastAddresses).Any(u => u.Address.Equals(address));

    private async Task<RouteResolution> ResolveHopsAsync(string domain, CancellationToken cancellationToken)
    {
        if (_routes.TryGetValue(domain, out var route))
            return await StaticAsync(route, cancellationToken);
        // This server is the destination of its local domains: without a route for one, its mail is held, not
        // sent to the MX (which is this server) or to the smarthost.
        if (domain.Length == 0 || _localDomains.Contains(domain))
            return RouteResolution.Hold($"held: no delivery target for the local domain {(domain.Length == 0 ? hermod.Hostname : domain)} (add a route for it)");
        if (_routes.TryGetValue("*", out route))
            return await StaticAsync(route, cancellationToken);

        var port = delivery.RemotePort;
        var tls = delivery.Tls;
        if (domain.StartsWith('[') && domain.EndsWith(']')) // an address literal: user@[192.0.2.1]
        {
            var literal = domain[1..^1];
            if (literal.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase))
                literal = literal[5..];
            return IPAddress.TryParse(literal, out var ip)
                ? new RouteResolution([new NextHop(domain, new IPEndPoint(ip, port))], tls)
                : RouteResolution.Fail(UpstreamReply.NoReply(null, new(5, 1, 2), $"bad address literal {domain}"), permanent: true);
        }

        var mx = await dns.ResolveMxAsync(domain, cancellationToken);
        switch (mx.Status)
        {
            case DnsStatus.NxDomain:
                return RouteResolution.Fail(UpstreamReply.NoReply(null, new(5, 1, 2), $"domain {domain} does not exist (DNS: NXDOMAIN)"), permanent: true);
            case DnsStatus.Ok when mx.Records.Any(r => r.IsNullMx):
                return RouteResolution.Fail(UpstreamReply.NoReply(null, new(5, 1, 10), $"domain {domain} accepts no mail (null MX, RFC 7505)"), permanent: true);
            case DnsStatus.Ok:
                var hops = new List<NextHop>();
                var failures = 0;
                foreach (var group in mx.Records.GroupBy(r => r.Preference).OrderBy(g => g.Key))
                    foreach (var record in group.OrderBy(_ => Random.Shared.Next()))
                    {
                        var addresses = await dns.ResolveAddressesAsync(record.Exchange, cancellationToken);
                        if (addresses.Status.IsFailure())
                            failures++;
                        hops.AddRange(addresses.Records.Select(a => new NextHop(record.Exchange, new IPEndPoint(a, port))));
                    }
                if (hops.Count > 0)
                    return new RouteResolution(hops, tls);
                return RouteResolution.Fail(UpstreamReply.NoReply(null, failures > 0 ? new(4, 4, 3) : new(4, 4, 4),
                    $"no address for the MX hosts of {domain}{(failures > 0 ? " (DNS failure)" : "")}"), permanent: false);
            case DnsStatus.NoData: // RFC 5321 5.1: no MX, the domain itself is the implicit MX
                var implicitMx = await dns.ResolveAddressesAsync(domain, cancellationToken);
                if (implicitMx.Records.Count > 0)
                    return new RouteResolution([.. implicitMx.Records.Select(a => new NextHop(domain, new IPEndPoint(a, port)))], tls);
                return implicitMx.Status.IsFailure()
                    ? RouteResolution.Fail(UpstreamReply.NoReply(null, new(4, 4, 3), $"DNS failure looking up {domain}: {implicitMx.Status}"), permanent: false)
                    : RouteResolution.Fail(UpstreamReply.NoReply(null, new(5, 1, 2), $"domain {domain} has no MX and no address"), permanent: true);
            default:
                return RouteResolution.Fail(UpstreamReply.NoReply(null, new(4, 4, 3), $"DNS failure looking up MX of {domain}: {mx.Status}"), permanent: false);
        }
    }

    /// <summary>The hops of a fixed next hop (a smarthost): its address, or the addresses its name resolves to.</summary>
    public async Task<RouteResolution> StaticAsync(RouteOptions route, CancellationToken cancellationToken)
    {
        var port = route.Port ?? delivery.RemotePort;
        var tls = route.Tls ?? delivery.Tls;
        var credentials = route.User is null ? null : new NetworkCredential(route.User, route.Password);
        if (IPAddress.TryParse(route.Host, out var ip))
            return new RouteResolution([new NextHop(route.Host, new IPEndPoint(ip, port))], tls, credentials);
        var addresses = await dns.ResolveAddressesAsync(route.Host, cancellationToken);
        if (addresses.Records.Count == 0) // a configured next hop that does not resolve is our problem: keep the mail
            return RouteResolution.Fail(UpstreamReply.NoReply(null, new(4, 4, 3), $"route host {route.Host} does not resolve: {addresses.Status}"), permanent: false);
        return new RouteResolution([.. addresses.Records.Select(a => new NextHop(route.Host, new IPEndPoint(a, port)))], tls, credentials);
    }
}
