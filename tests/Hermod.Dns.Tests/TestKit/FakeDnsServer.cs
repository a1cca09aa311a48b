using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Hermod.Dns.Tests.TestKit;

/// <summary>A query as the fake server saw it. <see cref="Number"/> counts this server's queries from 1 (UDP and TCP together).</summary>
internal sealed record FakeQuery(ushort Id, string Name, DnsRecordType Type, bool Tcp, int Number, byte[] Raw)
{
    /// <summary>Reads an uncompressed single-question query; null when it is not one.</summary>
    public static FakeQuery? Parse(byte[] raw, bool tcp, int number)
    {
        if (raw.Length < 12)
            return null;
        var position = 12;
        var labels = new List<string>();
        while (position < raw.Length && raw[position] != 0)
        {
            var length = raw[position];
            if (length > 63 || position + 1 + length > raw.Length)
                return null;
            labels.Add(Encoding.ASCII.GetString(raw, position + 1, length));
            position += 1 + length;
        }
        if (position + 5 > raw.Length)
            return null;
        var type = (DnsRecordType)BinaryPrimitives.ReadUInt16BigEndian(raw.AsSpan(position + 1));
        return new FakeQuery(BinaryPrimitives.ReadUInt16BigEndian(raw), string.Join('.', labels), type, tcp, number, raw);
    }
}

/// <summary>One message the fake server sends back: after a delay, and optionally from another port (a spoof).</summary>
internal sealed record FakeReply(byte[] Message, bool FromOtherPort = false, int DelayMs = 0);

/// <summary>
/// A scripted DNS server on 127.0.0.1, UDP and TCP on the same port. For each query the script returns the messages
/// to send: none is silence; over TCP only the first is sent (framed).
/// </summary>
internal sealed class FakeDnsServer : IAsyncDisposable
{
    private readonly Func<FakeQuery, IEnumerable<FakeReply>> _script;
    private readonly Socket _udp;
    private readonly Socket _tcp;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _udpLoop;
    private readonly Task _tcpLoop;
    private int _udpQueries;
    private int _tcpQueries;
    private int _number;

    public FakeDnsServer(Func<FakeQuery, IEnumerable<FakeReply>> script)
    {
        _script = script;
        for (var attempt = 0; ; attempt++)
        {
            var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                tcp.Bind(udp.LocalEndPoint!);
                tcp.Listen();
                _udp = udp;
                _tcp = tcp;
                break;
            }
            catch (SocketException) when (attempt < 20)
            {
                udp.Dispose();
                tcp.Dispose();
            }
        }
        EndPoint = (IPEndPoint)_udp.LocalEndPoint!;
        _udpLoop = Task.Run(UdpLoopAsync);
        _tcpLoop = Task.Run(TcpLoopAsync);
    }

    /// <summary>A server that answers every query with the same records.</summary>
    public static FakeDnsServer Answering(params Rr[] answers) =>
        new(q => [new FakeReply(DnsWire.Response(q, answers: answers))]);

    /// <summary>A server that never answers.</summary>
    public static FakeDnsServer Silent() => new(_ => []);

    public IPEndPoint EndPoint { get; }

    public int UdpQueries => Volatile.Read(ref _udpQueries);

    public int TcpQueries => Volatile.Read(ref _tcpQueries);

    public ConcurrentQueue<FakeQuery> Queries { get; } = new();

    private async Task UdpLoopAsync()
    {
        var buffer = new byte[65535];
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _udp.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue; // ICMP from a client that already went away
            }
            Interlocked.Increment(ref _udpQueries);
            var query = FakeQuery.Parse(buffer[..received.ReceivedBytes], tcp: false, Interlocked.Increment(ref _number));
            if (query is null)
                continue;
            Queries.Enqueue(query);
            try
            {
                foreach (var reply in _script(query))
                {
                    if (reply.DelayMs > 0)
                        await Task.Delay(reply.DelayMs, _stop.Token);
                    if (reply.FromOtherPort)
                    {
                        using var other = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                        other.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                        await other.SendToAsync(reply.Message, SocketFlags.None, received.RemoteEndPoint);
                    }
                    else
                        await _udp.SendToAsync(reply.Message, SocketFlags.None, received.RemoteEndPoint);
                }
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task TcpLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _tcp.AcceptAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            _ = Task.Run(() => ServeTcpAsync(client));
        }
    }

    private async Task ServeTcpAsync(Socket client)
    {
        await using var stream = new NetworkStream(client, ownsSocket: true);
        try
        {
            var prefix = new byte[2];
            await stream.ReadExactlyAsync(prefix, _stop.Token);
            var raw = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
            await stream.ReadExactlyAsync(raw, _stop.Token);
            Interlocked.Increment(ref _tcpQueries);
            var query = FakeQuery.Parse(raw, tcp: true, Interlocked.Increment(ref _number));
            if (query is null)
                return;
            Queries.Enqueue(query);
            var reply = _script(query).FirstOrDefault();
            if (reply is null)
            {
                await Task.Delay(Timeout.Infinite, _stop.Token);
                return;
            }
            if (reply.DelayMs > 0)
                await Task.Delay(reply.DelayMs, _stop.Token);
            var framed = new byte[2 + reply.Message.Length];
            BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)reply.Message.Length);
            reply.Message.CopyTo(framed, 2);
            await stream.WriteAsync(framed, _stop.Token);
        }
        catch (Exception)
        {
            // the client went away or the server stops
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _udp.Dispose();
        _tcp.Dispose();
        try
        {
            await Task.WhenAll(_udpLoop, _tcpLoop);
        }
        catch (Exception)
        {
            // stopping
        }
        _stop.Dispose();
    }
}
