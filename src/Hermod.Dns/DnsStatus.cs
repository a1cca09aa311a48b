namespace Hermod.Dns;

/// <summary>How a lookup ended. Only <see cref="Ok"/>, <see cref="NoData"/> and <see cref="NxDomain"/> are answers; the rest are failures to get one.</summary>
public enum DnsStatus
{
    /// <summary>Records of the asked type exist (after following CNAMEs).</summary>
    Ok,

    /// <summary>The name exists but has no records of the asked type.</summary>
    NoData,

    /// <summary>The name does not exist (RCODE 3).</summary>
    NxDomain,

    /// <summary>Every server that answered said SERVFAIL (or another error RCODE), or the answer held a CNAME loop.</summary>
    ServerFailure,

    /// <summary>No server answered in time (or none was reachable).</summary>
    Timeout,

    /// <summary>The servers refused the query (RCODE 5).</summary>
    Refused,

    /// <summary>The answers could not be parsed, or the name cannot be written as a DNS query name.</summary>
    Malformed,
}
