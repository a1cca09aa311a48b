using System.Diagnostics;
using Hermod.Dns.Protocol;
using Hermod.Dns.Tests.TestKit;

namespace Hermod.Dns.Tests.Protocol;

/// <summary>Broken and hostile responses: each gives a clean status at once, never an exception or a hang.</summary>
public class HostileResponseTests
{
    private const ushort Id = ResponseDecodingTests.Id;
    private const string Name = "example.test";

    private static DnsWire Start(int an = 1) =>
        new DnsWire().Header(Id, DnsWire.ResponseFlags, an: an).Question(Name, DnsRecordType.A);

    public static TheoryData<string, byte[]> Cases()
    {
        var cases = new TheoryData<string, byte[]>
        {
            { "empty", [] },
            { "shorter than a header", [0x42, 0x42, 0x81, 0x80, 0, 1] },
            { "header only, question missing", new DnsWire().Header(Id, DnsWire.ResponseFlags).ToArray() },
            { "wrong id", DnsWire.Response(0x4243, Name, DnsRecordType.A, answers: [Rr.A(Name, "192.0.2.1")]) },
            { "QR not set", DnsWire.Response(Id, Name, DnsRecordType.A, flags: DnsWire.RD, answers: [Rr.A(Name, "192.0.2.1")]) },
            { "opcode not QUERY", DnsWire.Response(Id, Name, DnsRecordType.A, flags: DnsWire.ResponseFlags | 0x1000, answers: [Rr.A(Name, "192.0.2.1")]) },
            { "other question name", DnsWire.Response(Id, "evil.test", DnsRecordType.A, answers: [Rr.A(Name, "192.0.2.1")]) },
            { "other question type", DnsWire.Response(Id, Name, DnsRecordType.AAAA, answers: [Rr.A(Name, "192.0.2.1")]) },
            { "other question class", new DnsWire().Header(Id, DnsWire.ResponseFlags).Name(Name).U16(1).U16(3).ToArray() },
            { "two questions", new DnsWire().Header(Id, DnsWire.ResponseFlags, qd: 2).Question(Name, DnsRecordType.A).Question(Name, DnsRecordType.A).ToArray() },
            { "no question with NOERROR", new DnsWire().Header(Id, DnsWire.ResponseFlags, qd: 0).ToArray() },
            { "question cut short", new DnsWire().Header(Id, DnsWire.ResponseFlags).Name(Name).U16(1).ToArray() },
            { "pointer to itself in the question", new DnsWire().Header(Id, DnsWire.ResponseFlags).Pointer(12).U16(1).U16(1).ToArray() },
            { "forward pointer in the question", new DnsWire().Header(Id, DnsWire.ResponseFlags).Pointer(18).U16(1).U16(1).Name(Name).ToArray() },
            { "pointer to itself in an owner", Start().Pointer(Start().Length).RecordTail(DnsRecordType.A, 60, [192, 0, 2, 1]).ToArray() },
            { "pointer past the end", Start().Pointer(0x3FFF).RecordTail(DnsRecordType.A, 60, [192, 0, 2, 1]).ToArray() },
            { "pointer cut in half", Start().U8(0xC0).ToArray() },
            { "label longer than 63 (0x40 type)", Start().U8(64).Bytes(new byte[64]).Root().RecordTail(DnsRecordType.A, 60, [192, 0, 2, 1]).ToArray() },
            { "label type 0x80", Start().U8(0x80).Bytes(new byte[10]).Root().RecordTail(DnsRecordType.A, 60, [192, 0, 2, 1]).ToArray() },
            { "label past the end", Start().U8(40).Bytes(new byte[10]).ToArray() },
            { "name without its root label", Start().Labels("example").ToArray() },
            { "owner longer than 255", Start().Labels(LongName(5)).Root().RecordTail(DnsRecordType.A, 60, [192, 0, 2, 1]).ToArray() },
            { "record cut in its fixed part", Start().Pointer(12).U16(1).U16(1).U16(0).ToArray() },
            { "rdlength past the end", Start().Pointer(12).U16(1).U16(1).U32(60).U16(200).Bytes(192, 0, 2, 1).ToArray() },
            { "ancount 65535 with one record", Start(an: 0xFFFF).Pointer(12).RecordTail(DnsRecordType.A, 60, [192, 0, 2, 1]).ToArray() },
            { "nscount 65535 and nothing there", new DnsWire().Header(Id, DnsWire.ResponseFlags | 3, ns: 0xFFFF).Question(Name, DnsRecordType.A).ToArray() },
            { "A of 5 octets", Start().Pointer(12).RecordTail(DnsRecordType.A, 60, [192, 0, 2, 1, 9]).ToArray() },
            { "A of 3 octets", Start().Pointer(12).RecordTail(DnsRecordType.A, 60, [192, 0, 2]).ToArray() },
            { "AAAA of 4 octets", Start().Pointer(12).RecordTail(DnsRecordType.AAAA, 60, [192, 0, 2, 1]).ToArray() },
            { "MX of 2 octets", Start().Pointer(12).RecordTail(DnsRecordType.MX, 60, [0, 10]).ToArray() },
            { "MX name longer than its data", Start().Pointer(12).U16(15).U16(1).U32(60).U16(4).U16(10).Labels("mx1").Pointer(12).ToArray() },
            { "MX with bytes after its name", Start().Pointer(12).RecordTail(DnsRecordType.MX, 60, [0, 10, 0, 0xFF]).ToArray() },
            { "CNAME pointing forward", Start().Pointer(12).RecordTail(DnsRecordType.CNAME, 60, [0xC0, 0x3F]).Name("x.test").ToArray() },
            { "TXT string past its data", Start().Pointer(12).RecordTail(DnsRecordType.TXT, 60, [5, (byte)'a', (byte)'b']).ToArray() },
            { "SOA cut short", Start().Pointer(12).RecordTail(DnsRecordType.SOA, 60, [0, 0, 0, 0, 1]).ToArray() },
            { "TLSA of 2 octets", Start().Pointer(12).RecordTail(DnsRecordType.TLSA, 60, [3, 1]).ToArray() },
            { "bad SOA in the authority section", new DnsWire().Header(Id, DnsWire.ResponseFlags | 3, ns: 1).Question(Name, DnsRecordType.A)
                .Pointer(12).RecordTail(DnsRecordType.SOA, 60, [0, 0]).ToArray() },
        };

        // Mutual pointers: the owner is a pointer to the next pointer, which points back.
        var mutual = Start();
        var first = mutual.Length;
        mutual.Pointer(first + 2).Pointer(first).RecordTail(DnsRecordType.A, 60, [192, 0, 2, 1]);
        cases.Add("mutual pointers", mutual.ToArray());

        // A pointer into the middle of the previous labels, making a cycle through labels.
        var cycle = Start();
        var cycleStart = cycle.Length;
        cycle.Labels("a").Pointer(cycleStart).RecordTail(DnsRecordType.A, 60, [192, 0, 2, 1]);
        cases.Add("pointer back to its own labels", cycle.ToArray());

        // A name longer than 255 built from backward pointers: long labels parked in the data of an unknown-type
        // record, each followed by a pointer to the one before; the A record's owner points at the last.
        var chained = new DnsWire().Header(Id, DnsWire.ResponseFlags, an: 2).Question(Name, DnsRecordType.A);
        chained.Pointer(12).U16(99).U16(1).U32(60).U16(6 * 53);
        var previous = 12;
        for (var i = 0; i < 6; i++)
        {
            var here = chained.Length;
            chained.U8(50).Bytes(new byte[50]).Pointer(previous);
            previous = here;
        }
        chained.Pointer(previous).RecordTail(DnsRecordType.A, 60, [192, 0, 2, 1]);
        cases.Add("name longer than 255 through pointers", chained.ToArray());
        return cases;
    }

    private static string LongName(int labels) => string.Join('.', Enumerable.Repeat(new string('a', 60), labels));

    [Theory]
    [MemberData(nameof(Cases))]
    public void Hostile_response_is_malformed(string description, byte[] message)
    {
        Assert.True(DnsQuestion.TryCreate(Name, DnsRecordType.A, out var question));
        var stopwatch = Stopwatch.StartNew();

        var response = DnsMessage.Decode(message, Id, question);

        Assert.True(response.Status == DnsStatus.Malformed, $"{description}: {response.Status}");
        Assert.Empty(response.Records);
        Assert.Null(response.CacheTtl);
        Assert.True(stopwatch.ElapsedMilliseconds < 500, $"{description}: took {stopwatch.ElapsedMilliseconds} ms");
    }

    [Theory]
    [InlineData("wrong id")]
    [InlineData("QR not set")]
    [InlineData("other question name")]
    [InlineData("other question type")]
    [InlineData("shorter than a header")]
    public void Responses_that_are_not_for_us_are_ignored_over_udp(string description)
    {
        Assert.True(DnsQuestion.TryCreate(Name, DnsRecordType.A, out var question));
        var message = Cases().Single(c => (string)c[0] == description)[1];

        Assert.False(DnsMessage.IsResponseTo((byte[])message, Id, question));
        Assert.True(DnsMessage.IsResponseTo(DnsWire.Response(Id, Name, DnsRecordType.A), Id, question));
    }

    [Fact]
    public void Random_corruption_never_throws()
    {
        Assert.True(DnsQuestion.TryCreate(Name, DnsRecordType.MX, out var question));
        var wire = new DnsWire().Header(Id, DnsWire.ResponseFlags, an: 2, ns: 1).Question(Name, DnsRecordType.MX);
        wire.Pointer(12).RecordTail(DnsRecordType.MX, 300, new DnsWire().U16(10).Labels("mx1").Pointer(12).ToArray());
        wire.Pointer(12).RecordTail(DnsRecordType.MX, 300, new DnsWire().U16(20).Labels("mx2").Pointer(12).ToArray());
        wire.Pointer(12).RecordTail(DnsRecordType.SOA, 300, Rr.Soa(Name, 300, 60).Data);
        var valid = wire.ToArray();
        Assert.Equal(DnsStatus.Ok, DnsMessage.Decode(valid, Id, question).Status);

        var random = new Random(1234);
        var stopwatch = Stopwatch.StartNew();
        var statuses = new HashSet<DnsStatus>();
        for (var i = 0; i < 20000; i++)
        {
            var message = (byte[])valid.Clone();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
                message[random.Next(2, message.Length)] = (byte)random.Next(256); // keep the id
            if (random.Next(4) == 0)
                message = message[..random.Next(message.Length)];
            statuses.Add(DnsMessage.Decode(message, Id, question).Status);
        }
        Assert.Contains(DnsStatus.Malformed, statuses);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"took {stopwatch.Elapsed}");
    }
}
