namespace Hermod.Dns;

/// <summary>The record types Hermod asks for (RFC 1035, RFC 3596, RFC 6698). Other values may be cast and queried.</summary>
public enum DnsRecordType : ushort
{
    A = 1,
    NS = 2,
    CNAME = 5,
    SOA = 6,
    PTR = 12,
    MX = 15,
    TXT = 16,
    AAAA = 28,
    TLSA = 52,
}
