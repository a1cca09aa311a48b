using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace Hermod.Dns.Tests.TestKit;

/// <summary>Builds DNS messages byte by byte, for hand-made (and hostile) responses.</summary>
internal sealed class DnsWire
{
    public const ushort QR = 0x8000;
    public const ushort AA = 0x0400;
    public const ushort TC = 0x0200;
    public const ushort RD = 0x0100;
    public const ushort RA = 0x0080;
    public const ushort AD = 0x0020;
    public const ushort ResponseFlags = QR | RD | RA;

    private readonly List<byte> _bytes = [];

    public int Length => _bytes.Count;

    public DnsWire U8(int value)
    {
        _bytes.Add((byte)value);
        return this;
    }

    public DnsWire U16(int value)
    {
        _bytes.Add((byte)(value >> 8));
        _bytes.Add((byte)value);
        return this;
    }

    public DnsWire U32(uint value) => U16((int)(value >> 16)).U16((int)(value & 0xFFFF));

    public DnsWire Bytes(params byte[] bytes)
    {
        _bytes.AddRange(bytes);
        return this;
    }

    /// <summary>The labels of <paramref name="dotted"/> without the terminating root label (follow with <see cref="Pointer"/> or <see cref="Root"/>).</summary>
    public DnsWire Labels(string dotted)
    {
        foreach (var label in dotted.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var bytes = Encoding.ASCII.GetBytes(label);
            U8(bytes.Length).Bytes(bytes);
        }
        return this;
    }

    public DnsWire Root() => U8(0);

    public DnsWire Name(string dotted) => Labels(dotted).Root();

    public DnsWire Pointer(int offset) => U16(0xC000 | offset);

    public DnsWire Header(ushort id, ushort flags, int qd = 1, int an = 0, int ns = 0, int ar = 0) =>
        U16(id).U16(flags).U16(qd).U16(an).U16(ns).U16(ar);

    public DnsWire Question(string name, DnsRecordType type) => Name(name).U16((ushort)type).U16(1);

    /// <summary>Type, class IN, TTL and the length-prefixed data; the owner name is written before by the caller.</summary>
    public DnsWire RecordTail(DnsRecordType type, uint ttl, byte[] data, int @class = 1) =>
        U16((ushort)type).U16(@class).U32(ttl).U16(data.Length).Bytes(data);

    public DnsWire Record(Rr rr) => Name(rr.Name).RecordTail(rr.Type, rr.Ttl, rr.Data, rr.Class);

    public byte[] ToArray() => [.. _bytes];

    /// <summary>A response echoing the question, with uncompressed records.</summary>
    public static byte[] Response(ushort id, string name, DnsRecordType type, int rcode = 0, ushort flags = ResponseFlags,
        IEnumerable<Rr>? answers = null, IEnumerable<Rr>? authority = null)
    {
        var an = answers?.ToList() ?? [];
        var ns = authority?.ToList() ?? [];
        var wire = new DnsWire().Header(id, (ushort)(flags | rcode), 1, an.Count, ns.Count).Question(name, type);
        foreach (var rr in an.Concat(ns))
            wire.Record(rr);
        return wire.ToArray();
    }

    public static byte[] Response(FakeQuery query, int rcode = 0, ushort flags = ResponseFlags, IEnumerable<Rr>? answers = null,
        IEnumerable<Rr>? authority = null) =>
        Response(query.Id, query.Name, query.Type, rcode, flags, answers, authority);

    /// <summary>An uncompressed name as record data.</summary>
    public static byte[] NameData(string dotted) => new DnsWire().Name(dotted).ToArray();
}

/// <summary>A resource record to write (uncompressed).</summary>
internal sealed record Rr(string Name, DnsRecordType Type, uint Ttl, byte[] Data, int Class = 1)
{
    public static Rr A(string name, string address, uint ttl = 300) => new(name, DnsRecordType.A, ttl, IPAddress.Parse(address).GetAddressBytes());

    public static Rr Aaaa(string name, string address, uint ttl = 300) => new(name, DnsRecordType.AAAA, ttl, IPAddress.Parse(address).GetAddressBytes());

    public static Rr Mx(string name, ushort preference, string exchange, uint ttl = 300)
    {
        var data = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(data, preference);
        return new(name, DnsRecordType.MX, ttl, [.. data, .. DnsWire.NameData(exchange)]);
    }

    public static Rr Cname(string name, string target, uint ttl = 300) => new(name, DnsRecordType.CNAME, ttl, DnsWire.NameData(target));

    public static Rr Ptr(string name, string target, uint ttl = 300) => new(name, DnsRecordType.PTR, ttl, DnsWire.NameData(target));

    public static Rr Txt(string name, params string[] strings) => Txt(name, 300, strings.Select(Encoding.UTF8.GetBytes).ToArray());

    public static Rr Txt(string name, uint ttl, params byte[][] strings)
    {
        var wire = new DnsWire();
        foreach (var s in strings)
            wire.U8(s.Length).Bytes(s);
        return new(name, DnsRecordType.TXT, ttl, wire.ToArray());
    }

    public static Rr Soa(string zone, uint ttl, uint minimum) =>
        new(zone, DnsRecordType.SOA, ttl, new DnsWire().Name("ns." + zone).Name("hostmaster." + zone)
            .U32(2030010101).U32(7200).U32(3600).U32(1209600).U32(minimum).ToArray());
}
