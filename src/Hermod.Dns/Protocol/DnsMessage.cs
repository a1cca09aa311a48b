using System.Buffers.Binary;
using System.Net;

namespace Hermod.Dns.Protocol;

/// <summary>
/// Writes queries and reads responses (RFC 1035, EDNS0 RFC 6891). No I/O. Reading never throws and never does more
/// work than the message size allows: every count is checked against the bytes actually there.
/// </summary>
internal static class DnsMessage
{
    public const int HeaderLength = 12;

    /// <summary>The EDNS0 UDP payload size we advertise (the DNS flag day 2020 value).</summary>
    public const ushort UdpPayloadSize = 1232;

    /// <summary>Longest CNAME chain followed inside one answer; longer (or a loop) is a server failure.</summary>
    public const int MaxCnameChain = 16;

    private const ushort ClassIn = 1;
    private const ushort TypeOpt = 41;
    private const ushort FlagResponse = 0x8000;
    private const ushort FlagTruncated = 0x0200;
    private const ushort FlagRecursionDesired = 0x0100;
    private const ushort FlagAuthenticData = 0x0020;
    private const int RcodeNoError = 0;
    private const int RcodeServerFailure = 2;
    private const int RcodeNameError = 3;
    private const int RcodeRefused = 5;

    /// <summary>
    /// A query: RD set, and AD set to ask for the AD bit in the response (RFC 6840 section 5.7; DO stays off), one
    /// question of class IN, and an OPT record advertising <see cref="UdpPayloadSize"/>.
    /// </summary>
    public static byte[] EncodeQuery(ushort id, DnsQuestion question)
    {
        var message = new byte[HeaderLength + question.WireName.Length + 4 + 11];
        var span = message.AsSpan();
        BinaryPrimitives.WriteUInt16BigEndian(span, id);
        BinaryPrimitives.WriteUInt16BigEndian(span[2..], FlagRecursionDesired | FlagAuthenticData);
        BinaryPrimitives.WriteUInt16BigEndian(span[4..], 1);  // QDCOUNT
        BinaryPrimitives.WriteUInt16BigEndian(span[10..], 1); // ARCOUNT: the OPT record
        var position = HeaderLength;
        question.WireName.CopyTo(span[position..]);
        position += question.WireName.Length;
        BinaryPrimitives.WriteUInt16BigEndian(span[position..], (ushort)question.Type);
        BinaryPrimitives.WriteUInt16BigEndian(span[(position + 2)..], ClassIn);
        position += 4;
        span[position] = 0; // OPT owner: the root
        BinaryPrimitives.WriteUInt16BigEndian(span[(position + 1)..], TypeOpt);
        BinaryPrimitives.WriteUInt16BigEndian(span[(position + 3)..], UdpPayloadSize);
        // TTL (extended RCODE, version 0, DO off) and RDLENGTH stay zero.
        return message;
    }

    /// <summary>
    /// True when <paramref name="message"/> is a response (QR set, standard query) with our <paramref name="id"/> and
    /// our question. Over UDP anything else is not for us and is ignored.
    /// </summary>
    public static bool IsResponseTo(ReadOnlySpan<byte> message, ushort id, DnsQuestion question) =>
        TryReadHeader(message, id, question, out _, out _);

    /// <summary>Decodes a response to <paramref name="question"/> into a status and records.</summary>
    public static DnsResponse Decode(ReadOnlySpan<byte> message, ushort id, DnsQuestion question)
    {
        if (!TryReadHeader(message, id, question, out var flags, out var position))
            return DnsResponse.Malformed;
        var authenticated = (flags & FlagAuthenticData) != 0;
        if ((flags & FlagTruncated) != 0)
            return new DnsResponse(DnsStatus.Ok, [], authenticated, Truncated: true, CacheTtl: null);
        switch (flags & 0xF)
        {
            case RcodeNoError or RcodeNameError:
                break;
            case RcodeRefused:
                return DnsResponse.Failure(DnsStatus.Refused);
            case RcodeServerFailure:
            default: // FORMERR, NOTIMP and the rest: this server cannot help
                return DnsResponse.Failure(DnsStatus.ServerFailure);
        }

        var answerCount = BinaryPrimitives.ReadUInt16BigEndian(message[6..]);
        var authorityCount = BinaryPrimitives.ReadUInt16BigEndian(message[8..]);
        var answers = new List<DnsRecord>();
        for (var i = 0; i < answerCount; i++)
        {
            if (!TryReadRecord(message, ref position, out var record))
                return DnsResponse.Malformed;
            if (record is not null)
                answers.Add(record);
        }
        TimeSpan? negativeTtl = null;
        for (var i = 0; i < authorityCount; i++)
        {
            if (!TryReadRecord(message, ref position, out var record))
                return DnsResponse.Malformed;
            if (record is SoaRecord soa)
            {
                // RFC 2308 section 5: the lesser of the SOA's TTL and its MINIMUM field.
                var ttl = Min(soa.Ttl, Seconds(soa.Minimum));
                negativeTtl = negativeTtl is { } known ? Min(known, ttl) : ttl;
            }
        }
        // The additional section (OPT, glue) is not needed.

        if ((flags & 0xF) == RcodeNameError)
            return new DnsResponse(DnsStatus.NxDomain, [], authenticated, false, negativeTtl);
        return FollowChain(answers, question, authenticated, negativeTtl);
    }

    /// <summary>
    /// From the question name, follows CNAMEs in the answer section until names with records of the asked type
    /// (the answer) or without a CNAME (NODATA).
    /// </summary>
    private static DnsResponse FollowChain(List<DnsRecord> answers, DnsQuestion question, bool authenticated, TimeSpan? negativeTtl)
    {
        var target = question.Name;
        var chainTtl = TimeSpan.MaxValue;
        for (var hop = 0; ; hop++)
        {
            List<DnsRecord>? matches = null;
            CnameRecord? alias = null;
            foreach (var record in answers)
            {
                if (!SameName(record.Name, target))
                    continue;
                if (record.Type == question.Type)
                {
                    (matches ??= []).Add(record);
                    chainTtl = Min(chainTtl, record.Ttl);
                }
                else if (record is CnameRecord cname)
                    alias ??= cname;
            }
            if (matches is not null)
                return new DnsResponse(DnsStatus.Ok, matches, authenticated, false, chainTtl);
            if (alias is null)
                return new DnsResponse(DnsStatus.NoData, [], authenticated, false, negativeTtl);
            if (hop == MaxCnameChain)
                return DnsResponse.Failure(DnsStatus.ServerFailure);
            chainTtl = Min(chainTtl, alias.Ttl);
            target = alias.Target;
        }
    }

    private static bool TryReadHeader(ReadOnlySpan<byte> message, ushort id, DnsQuestion question, out ushort flags, out int position)
    {
        flags = 0;
        position = HeaderLength;
        if (message.Length < HeaderLength || BinaryPrimitives.ReadUInt16BigEndian(message) != id)
            return false;
        flags = BinaryPrimitives.ReadUInt16BigEndian(message[2..]);
        if ((flags & FlagResponse) == 0 || ((flags >> 11) & 0xF) != 0)
            return false;
        var questionCount = BinaryPrimitives.ReadUInt16BigEndian(message[4..]);
        if (questionCount == 0)
            return (flags & 0xF) is not (RcodeNoError or RcodeNameError); // some servers drop the question from errors
        if (questionCount != 1 || !DnsName.TryRead(message, ref position, out var name) || position + 4 > message.Length)
            return false;
        var type = BinaryPrimitives.ReadUInt16BigEndian(message[position..]);
        var @class = BinaryPrimitives.ReadUInt16BigEndian(message[(position + 2)..]);
        position += 4;
        return type == (ushort)question.Type && @class == ClassIn && SameName(name, question.Name);
    }

    /// <summary>Reads one resource record. <paramref name="record"/> is null for classes and types we skip.</summary>
    private static bool TryReadRecord(ReadOnlySpan<byte> message, ref int position, out DnsRecord? record)
    {
        record = null;
        if (!DnsName.TryRead(message, ref position, out var name) || position + 10 > message.Length)
            return false;
        var type = (DnsRecordType)BinaryPrimitives.ReadUInt16BigEndian(message[position..]);
        var @class = BinaryPrimitives.ReadUInt16BigEndian(message[(position + 2)..]);
        var ttl = Seconds(BinaryPrimitives.ReadUInt32BigEndian(message[(position + 4)..]));
        var length = BinaryPrimitives.ReadUInt16BigEndian(message[(position + 8)..]);
        var start = position + 10;
        var end = start + length;
        if (end > message.Length)
            return false;
        position = end;
        if (@class != ClassIn)
            return true;
        var data = message[start..end];
        switch (type)
        {
            case DnsRecordType.A when length == 4:
            case DnsRecordType.AAAA when length == 16:
                record = new AddressRecord(name, ttl, new IPAddress(data));
                return true;
            case DnsRecordType.A or DnsRecordType.AAAA:
                return false;
            case DnsRecordType.CNAME or DnsRecordType.PTR or DnsRecordType.NS:
                if (!TryReadName(message, start, end, out var target))
                    return false;
                record = type switch
                {
                    DnsRecordType.CNAME => new CnameRecord(name, ttl, target),
                    DnsRecordType.PTR => new PtrRecord(name, ttl, target),
                    _ => new NsRecord(name, ttl, target),
                };
                return true;
            case DnsRecordType.MX:
                if (length < 3 || !TryReadName(message, start + 2, end, out var exchange))
                    return false;
                record = new MxRecord(name, ttl, BinaryPrimitives.ReadUInt16BigEndian(data), exchange);
                return true;
            case DnsRecordType.TXT:
                return TryReadTxt(name, ttl, data, out record);
            case DnsRecordType.SOA:
                return TryReadSoa(message, name, ttl, start, end, out record);
            case DnsRecordType.TLSA:
                if (length < 3)
                    return false;
                record = new TlsaRecord(name, ttl, data[0], data[1], data[2], data[3..].ToArray());
                return true;
            default:
                return true;
        }
    }

    /// <summary>A name that fills the record data from <paramref name="start"/> exactly up to <paramref name="end"/>.</summary>
    private static bool TryReadName(ReadOnlySpan<byte> message, int start, int end, out string name)
    {
        // Read from the whole message (pointers may go anywhere before), but the name must end where the data ends.
        var position = start;
        return DnsName.TryRead(message[..end], ref position, out name) && position == end;
    }

    private static bool TryReadTxt(string name, TimeSpan ttl, ReadOnlySpan<byte> data, out DnsRecord? record)
    {
        record = null;
        var strings = new List<byte[]>();
        var position = 0;
        while (position < data.Length)
        {
            var length = data[position];
            if (position + 1 + length > data.Length)
                return false;
            strings.Add(data.Slice(position + 1, length).ToArray());
            position += 1 + length;
        }
        record = new TxtRecord(name, ttl, strings);
        return true;
    }

    private static bool TryReadSoa(ReadOnlySpan<byte> message, string name, TimeSpan ttl, int start, int end, out DnsRecord? record)
    {
        record = null;
        var bounded = message[..end];
        var position = start;
        if (!DnsName.TryRead(bounded, ref position, out var primary) || !DnsName.TryRead(bounded, ref position, out var mailbox)
            || position + 20 != end)
            return false;
        var numbers = message[position..end];
        record = new SoaRecord(name, ttl, primary, mailbox,
            BinaryPrimitives.ReadUInt32BigEndian(numbers),
            BinaryPrimitives.ReadUInt32BigEndian(numbers[4..]),
            BinaryPrimitives.ReadUInt32BigEndian(numbers[8..]),
            BinaryPrimitives.ReadUInt32BigEndian(numbers[12..]),
            BinaryPrimitives.ReadUInt32BigEndian(numbers[16..]));
        return true;
    }

    private static bool SameName(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    /// <summary>A TTL in seconds; values with the top bit set count as zero (RFC 2181 section 8).</summary>
    private static TimeSpan Seconds(uint value) => TimeSpan.FromSeconds(value > int.MaxValue ? 0 : value);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
