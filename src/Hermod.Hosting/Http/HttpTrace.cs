using System.Net;
using Microsoft.AspNetCore.Http;

namespace Hermod.Hosting.Http;

/// <summary>What both HTTP APIs record about where a message came from.</summary>
internal static class HttpTrace
{
    /// <summary>The client's address; an IPv4 client on a dual-stack socket as plain IPv4.</summary>
    public static IPAddress ClientAddress(HttpContext context)
    {
        var address = context.Connection.RemoteIpAddress ?? IPAddress.None;
        return address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
    }
}
