using System.Net;

namespace Hermod.Dns;

/// <summary>Typed lookups on top of <see cref="IDnsResolver.QueryAsync"/>.</summary>
public static class DnsResolverExtensions
{
    /// <summary>MX records sorted by preference (stable: equal preferences keep the server's order). A null MX
    /// (RFC 7505) comes back as one record with <see cref="MxRecord.IsNullMx"/>.</summary>
    public static async Task<DnsResult<MxRecord>> ResolveMxAsync(this IDnsResolver resolver, string domain,
        CancellationToken cancellationToken = default)
    {
        var answer = await resolver.QueryAsync(domain, DnsRecordType.MX, cancellationToken);
        var records = answer.Of<MxRecord>().OrderBy(r => r.Preference).ToList();
        return new DnsResult<MxRecord>(answer.Status, records, answer.Authenticated);
    }

    /// <summary>
    /// A and AAAA at once, IPv4 addresses first. Status: <see cref="DnsStatus.Ok"/> when either has addresses; else a
    /// failure of either (a failed AAAA must not read as "no address"); else NxDomain when either says so; else NoData.
    /// </summary>
    public static async Task<DnsResult<IPAddress>> ResolveAddressesAsync(this IDnsResolver resolver, string name,
        CancellationToken cancellationToken = default)
    {
        var a = resolver.QueryAsync(name, DnsRecordType.A, cancellationToken);
        var aaaa = resolver.QueryAsync(name, DnsRecordType.AAAA, cancellationToken);
        var v4 = await a;
        var v6 = await aaaa;
        var addresses = v4.Of<AddressRecord>().Concat(v6.Of<AddressRecord>()).Select(r => r.Address).ToList();
        var status = addresses.Count > 0 ? DnsStatus.Ok
            : IsFailure(v4.Status) ? v4.Status
            : IsFailure(v6.Status) ? v6.Status
            : v4.Status == DnsStatus.NxDomain || v6.Status == DnsStatus.NxDomain ? DnsStatus.NxDomain
            : DnsStatus.NoData;
        return new DnsResult<IPAddress>(status, addresses, v4.Authenticated && v6.Authenticated);
    }

    /// <summary>TXT records, each as its concatenated text (<see cref="TxtRecord.Text"/>).</summary>
    public static async Task<DnsResult<string>> ResolveTxtAsync(this IDnsResolver resolver, string name,
        CancellationToken cancellationToken = default)
    {
        var answer = await resolver.QueryAsync(name, DnsRecordType.TXT, cancellationToken);
        return new DnsResult<string>(answer.Status, answer.Of<TxtRecord>().Select(r => r.Text).ToList(), answer.Authenticated);
    }

    /// <summary>PTR targets of an address (the reverse name from <see cref="DnsNames.Reverse"/>).</summary>
    public static async Task<DnsResult<string>> ResolvePtrAsync(this IDnsResolver resolver, IPAddress address,
        CancellationToken cancellationToken = default)
    {
        var answer = await resolver.QueryAsync(DnsNames.Reverse(address), DnsRecordType.PTR, cancellationToken);
        return new DnsResult<string>(answer.Status, answer.Of<PtrRecord>().Select(r => r.Target).ToList(), answer.Authenticated);
    }

    /// <summary>True for the statuses that are not answers (try again later).</summary>
    public static bool IsFailure(this DnsStatus status) =>
        status is not (DnsStatus.Ok or DnsStatus.NoData or DnsStatus.NxDomain);
}
