namespace Hermod.Dns.Protocol;

/// <summary>
/// A decoded response. <see cref="Truncated"/>: the TC bit was set and nothing else was read (ask again over TCP).
/// <see cref="CacheTtl"/>: how long the answer may be cached (positive: the least TTL of the records used; negative:
/// from the SOA in the authority section); null when it must not be cached.
/// </summary>
internal sealed record DnsResponse(DnsStatus Status, IReadOnlyList<DnsRecord> Records, bool Authenticated, bool Truncated, TimeSpan? CacheTtl)
{
    public static DnsResponse Failure(DnsStatus status) => new(status, [], false, false, null);

    public static readonly DnsResponse Malformed = Failure(DnsStatus.Malformed);

    public bool IsAnswer => Status is DnsStatus.Ok or DnsStatus.NoData or DnsStatus.NxDomain;

    public DnsAnswer ToAnswer() => new(Status, Records, Authenticated);
}
