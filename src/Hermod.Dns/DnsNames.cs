using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Hermod.Dns;

/// <summary>Helpers for building query names.</summary>
public static class DnsNames
{
    /// <summary>
    /// The reverse name of an address under <paramref name="zone"/>: "4.3.2.1.in-addr.arpa" for 1.2.3.4 and the nibble
    /// form under "ip6.arpa" for IPv6 (RFC 3596). Pass a DNSBL zone to get its query name ("4.3.2.1.zen.example").
    /// IPv4-mapped IPv6 addresses are treated as IPv4.
    /// </summary>
    public static string Reverse(IPAddress address, string? zone = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        var bytes = address.GetAddressBytes();
        var sb = new StringBuilder(80);
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            for (var i = bytes.Length - 1; i >= 0; i--)
                sb.Append(bytes[i]).Append('.');
            return sb.Append(zone ?? "in-addr.arpa").ToString();
        }
        const string hex = "0123456789abcdef";
        for (var i = bytes.Length - 1; i >= 0; i--)
            sb.Append(hex[bytes[i] & 0xF]).Append('.').Append(hex[bytes[i] >> 4]).Append('.');
        return sb.Append(zone ?? "ip6.arpa").ToString();
    }
}
