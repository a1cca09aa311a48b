using System.Net;

namespace Hermod.Dns;

/// <summary>Settings of a <see cref="StubResolver"/>. Read once, when the resolver is built.</summary>
public sealed class DnsOptions
{
    /// <summary>Recursive servers, tried in order. Empty is an error; <see cref="ResolvConf.Load"/> reads the system's.</summary>
    public List<IPEndPoint> Servers { get; set; } = [];

    /// <summary>How long one try (one server, UDP, and TCP after a truncated answer) may take.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Rounds over all servers before giving up.</summary>
    public int Attempts { get; set; } = 2;

    /// <summary>Most answers kept in the cache; 0 turns caching off.</summary>
    public int MaxCacheEntries { get; set; } = 10000;

    /// <summary>Longest time a positive answer stays cached, whatever its TTL.</summary>
    public TimeSpan MaxCacheTtl { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Longest time a negative answer (NXDOMAIN, NODATA) stays cached; its TTL comes from the zone's SOA.</summary>
    public TimeSpan NegativeTtl { get; set; } = TimeSpan.FromHours(1);

    internal void Validate()
    {
        if (Servers is null || Servers.Count == 0)
            throw new ArgumentException("DnsOptions.Servers is empty: give at least one server (ResolvConf.Load() reads /etc/resolv.conf)");
        if (Timeout <= TimeSpan.Zero)
            throw new ArgumentException($"DnsOptions.Timeout must be positive, not {Timeout}");
        if (Attempts < 1)
            throw new ArgumentException($"DnsOptions.Attempts must be at least 1, not {Attempts}");
        if (MaxCacheEntries < 0)
            throw new ArgumentException($"DnsOptions.MaxCacheEntries must not be negative, not {MaxCacheEntries}");
        if (MaxCacheTtl < TimeSpan.Zero || NegativeTtl < TimeSpan.Zero)
            throw new ArgumentException("DnsOptions.MaxCacheTtl and NegativeTtl must not be negative");
    }
}
