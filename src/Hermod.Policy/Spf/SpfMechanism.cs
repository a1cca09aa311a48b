using System.Net;

namespace Hermod.Policy.Spf;

/// <summary>The qualifier of a directive (RFC 7208 section 4.6.2).</summary>
public enum SpfQualifier
{
    Pass,
    Fail,
    SoftFail,
    Neutral,
}

/// <summary>The mechanisms of RFC 7208 section 5.</summary>
public enum SpfMechanismKind
{
    All,
    Include,
    A,
    Mx,
    Ptr,
    Ip4,
    Ip6,
    Exists,
}

/// <summary>
/// One directive. <see cref="DomainSpec"/> is the unexpanded domain-spec (null when the mechanism uses the current
/// domain); <see cref="Network"/> the address of ip4/ip6; <see cref="Ip4Prefix"/> and <see cref="Ip6Prefix"/> the
/// (dual) CIDR lengths; <see cref="Text"/> the term as written.
/// </summary>
public sealed record SpfMechanism(
    SpfQualifier Qualifier,
    SpfMechanismKind Kind,
    string? DomainSpec,
    IPAddress? Network,
    int Ip4Prefix,
    int Ip6Prefix,
    string Text)
{
    /// <summary>True for the mechanisms that count toward the DNS lookup limit (section 4.6.4).</summary>
    public bool CostsLookup => Kind is SpfMechanismKind.Include or SpfMechanismKind.A or SpfMechanismKind.Mx
        or SpfMechanismKind.Ptr or SpfMechanismKind.Exists;
}
