using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Hermod.Dns.Protocol;

namespace Hermod.Dns.Transport;

/// <summary>One query to one server over UDP or TCP. Timeouts come from the caller's token.</summary>
internal static class DnsTransport
{
    private const int MaxDatagram = 65535;

    /// <summary>
    /// Sends the query from a fresh socket (a random source port per query) connected to <paramref name="server"/>, so
    /// the kernel drops datagrams from anyone else; datagrams with another id, without QR or for another question
    /// are ignored and the wait goes on until the token fires.
    /// </summary>
    public static async Task<DnsResponse> UdpAsync(IPEndPoint server, ushort id, byte[] query, DnsQuestion question,
        CancellationToken cancellationToken)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        await socket.ConnectAsync(server, cancellationToken);
        await socket.SendAsync(query, SocketFlags.None, cancellationToken);
        var buffer = ArrayPool<byte>.Shared.Rent(MaxDatagram);
        try
        {
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer.AsMemory(0, MaxDatagram), SocketFlags.None, cancellationToken);
                if (DnsMessage.IsResponseTo(buffer.AsSpan(0, received), id, question))
                    return DnsMessage.Decode(buffer.AsSpan(0, received), id, question);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The same query over TCP with the two-octet length prefix (RFC 1035 section 4.2.2).</summary>
    public static async Task<DnsResponse> TcpAsync(IPEndPoint server, ushort id, byte[] query, DnsQuestion question,
        CancellationToken cancellationToken)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(server, cancellationToken);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var framed = new byte[2 + query.Length];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
        query.CopyTo(framed, 2);
        await stream.WriteAsync(framed, cancellationToken);
        var prefix = new byte[2];
        await stream.ReadExactlyAsync(prefix, cancellationToken);
        var message = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
        await stream.ReadExactlyAsync(message, cancellationToken);
        var response = DnsMessage.Decode(message, id, question);
        return response.Truncated ? DnsResponse.Malformed : response;
    }
}
