using System.Net;
using Hermod.Core.Text;

namespace Hermod.Http;

/// <summary>What both HTTP APIs record about where a message came from.</summary>
internal static class HttpTrace
{
    /// <summary>The client's address; an IPv4 client on a dual-stack socket as plain IPv4.</summary>
    public static IPAddress ClientAddress(HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress ?? IPAddress.None;
        return address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }

    /// <summary>The RFC 5321 4.4 trace header of a message submitted over HTTP.</summary>
    public static string ReceivedHeader(IPAddress client, string hostname, string id, DateTimeOffset now) =>
        $"Received: from [{client}]\r\n\tby {hostname} (Hermod) with HTTP id {id};\r\n\t{Rfc5322.Date(now)}\r\n";
}
