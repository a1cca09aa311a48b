using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Unicode;

namespace Hermod.Dns;

/// <summary>
/// One resource record of class IN. <see cref="Name"/> is the owner name as written in the answer: ASCII, no
/// trailing dot ("." for the root), bytes outside printable ASCII and the characters '.' and '\' inside a label
/// escaped as <c>\DDD</c>. Names compare case-insensitively.
/// </summary>
public abstract record DnsRecord(string Name, DnsRecordType Type, TimeSpan Ttl);

/// <summary>An A or AAAA record; <see cref="DnsRecord.Type"/> follows the address family.</summary>
public sealed record AddressRecord(string Name, TimeSpan Ttl, IPAddress Address)
    : DnsRecord(Name, Address.AddressFamily == AddressFamily.InterNetworkV6 ? DnsRecordType.AAAA : DnsRecordType.A, Ttl);

/// <summary>An MX record (RFC 1035, RFC 7505).</summary>
public sealed record MxRecord(string Name, TimeSpan Ttl, ushort Preference, string Exchange) : DnsRecord(Name, DnsRecordType.MX, Ttl)
{
    /// <summary>The "null MX" (RFC 7505): the domain accepts no mail.</summary>
    public bool IsNullMx => Exchange == ".";
}

/// <summary>A TXT record: its character-strings as sent (SPF and DKIM join them without separators).</summary>
public sealed record TxtRecord(string Name, TimeSpan Ttl, IReadOnlyList<byte[]> Strings) : DnsRecord(Name, DnsRecordType.TXT, Ttl)
{
    /// <summary>The strings concatenated, decoded as UTF-8 when they are valid UTF-8, else as Latin-1.</summary>
    public string Text
    {
        get
        {
            var length = 0;
            foreach (var s in Strings)
                length += s.Length;
            var bytes = new byte[length];
            var offset = 0;
            foreach (var s in Strings)
            {
                s.CopyTo(bytes, offset);
                offset += s.Length;
            }
            return Utf8.IsValid(bytes) ? Encoding.UTF8.GetString(bytes) : Encoding.Latin1.GetString(bytes);
        }
    }
}

/// <summary>A PTR record (reverse DNS).</summary>
public sealed record PtrRecord(string Name, TimeSpan Ttl, string Target) : DnsRecord(Name, DnsRecordType.PTR, Ttl);

/// <summary>A CNAME record: <see cref="DnsRecord.Name"/> is an alias of <see cref="Target"/>.</summary>
public sealed record CnameRecord(string Name, TimeSpan Ttl, string Target) : DnsRecord(Name, DnsRecordType.CNAME, Ttl);

/// <summary>An NS record.</summary>
public sealed record NsRecord(string Name, TimeSpan Ttl, string Target) : DnsRecord(Name, DnsRecordType.NS, Ttl);

/// <summary>An SOA record (RFC 1035 section 3.3.13).</summary>
public sealed record SoaRecord(string Name, TimeSpan Ttl, string PrimaryServer, string Mailbox, uint Serial,
    uint Refresh, uint Retry, uint Expire, uint Minimum) : DnsRecord(Name, DnsRecordType.SOA, Ttl);

/// <summary>A TLSA record (RFC 6698) for DANE.</summary>
public sealed record TlsaRecord(string Name, TimeSpan Ttl, byte Usage, byte Selector, byte MatchingType, byte[] Data)
    : DnsRecord(Name, DnsRecordType.TLSA, Ttl);
