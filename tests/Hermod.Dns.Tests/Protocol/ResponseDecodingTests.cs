using System.Net;
using System.Text;
using Hermod.Dns.Protocol;
using Hermod.Dns.Tests.TestKit;

namespace Hermod.Dns.Tests.Protocol;

public class ResponseDecodingTests
{
    internal const ushort Id = 0x4242;

    internal static DnsResponse Decode(byte[] message, string name, DnsRecordType type)
    {
        Assert.True(DnsQuestion.TryCreate(name, type, out var question));
        return DnsMessage.Decode(message, Id, question);
    }

    private static DnsResponse Answer(string name, DnsRecordType type, params Rr[] answers) =>
        Decode(DnsWire.Response(Id, name, type, answers: answers), name, type);

    [Fact]
    public void A_record()
    {
        var response = Answer("mx1.example.test", DnsRecordType.A, Rr.A("mx1.example.test", "192.0.2.1", ttl: 120));

        Assert.Equal(DnsStatus.Ok, response.Status);
        var record = Assert.IsType<AddressRecord>(Assert.Single(response.Records));
        Assert.Equal(new AddressRecord("mx1.example.test", TimeSpan.FromSeconds(120), IPAddress.Parse("192.0.2.1")), record);
        Assert.Equal(DnsRecordType.A, record.Type);
        Assert.Equal(TimeSpan.FromSeconds(120), response.CacheTtl);
    }

    [Fact]
    public void Aaaa_record()
    {
        var response = Answer("mx1.example.test", DnsRecordType.AAAA, Rr.Aaaa("mx1.example.test", "2001:db8::25"));

        var record = Assert.IsType<AddressRecord>(Assert.Single(response.Records));
        Assert.Equal(IPAddress.Parse("2001:db8::25"), record.Address);
        Assert.Equal(DnsRecordType.AAAA, record.Type);
    }

    [Fact]
    public void Mx_records_and_the_least_ttl()
    {
        var response = Answer("example.test", DnsRecordType.MX,
            Rr.Mx("example.test", 20, "mx2.example.test", ttl: 600),
            Rr.Mx("example.test", 10, "mx1.example.test", ttl: 300));

        Assert.Equal(DnsStatus.Ok, response.Status);
        Assert.Equal(
            [new MxRecord("example.test", TimeSpan.FromSeconds(600), 20, "mx2.example.test"),
             new MxRecord("example.test", TimeSpan.FromSeconds(300), 10, "mx1.example.test")],
            response.Records.Cast<MxRecord>());
        Assert.Equal(TimeSpan.FromSeconds(300), response.CacheTtl);
    }

    [Fact]
    public void Null_mx()
    {
        var response = Answer("example.test", DnsRecordType.MX, new Rr("example.test", DnsRecordType.MX, 300, [0, 0, 0]));

        var mx = Assert.IsType<MxRecord>(Assert.Single(response.Records));
        Assert.Equal(".", mx.Exchange);
        Assert.True(mx.IsNullMx);
    }

    [Fact]
    public void Txt_record_keeps_its_strings_and_joins_them()
    {
        var response = Answer("example.test", DnsRecordType.TXT, Rr.Txt("example.test", "v=spf1 ip4:192.0.2.0/24 ", "-all"));

        var txt = Assert.IsType<TxtRecord>(Assert.Single(response.Records));
        Assert.Equal(2, txt.Strings.Count);
        Assert.Equal("v=spf1 ip4:192.0.2.0/24 ", Encoding.ASCII.GetString(txt.Strings[0]));
        Assert.Equal("v=spf1 ip4:192.0.2.0/24 -all", txt.Text);
    }

    [Fact]
    public void Txt_text_is_utf8_when_valid_else_latin1()
    {
        var response = Answer("example.test", DnsRecordType.TXT,
            Rr.Txt("example.test", 300, Encoding.UTF8.GetBytes("grüße")),
            Rr.Txt("example.test", 300, [0x67, 0xFC, 0x6E]),
            Rr.Txt("example.test", 300, []),
            Rr.Txt("example.test", 300, [], [0x61]));

        Assert.Equal(["grüße", "gün", "", "a"], response.Records.Cast<TxtRecord>().Select(t => t.Text));
    }

    [Fact]
    public void Ptr_record()
    {
        var response = Answer("2.0.0.127.in-addr.arpa", DnsRecordType.PTR, Rr.Ptr("2.0.0.127.in-addr.arpa", "mx1.example.test"));

        Assert.Equal("mx1.example.test", Assert.IsType<PtrRecord>(Assert.Single(response.Records)).Target);
    }

    [Fact]
    public void Cname_record_when_asked_for_cname_is_not_followed()
    {
        var response = Answer("alias.example.test", DnsRecordType.CNAME,
            Rr.Cname("alias.example.test", "mx1.example.test"), Rr.A("mx1.example.test", "192.0.2.1"));

        var cname = Assert.IsType<CnameRecord>(Assert.Single(response.Records));
        Assert.Equal("alias.example.test", cname.Name);
        Assert.Equal("mx1.example.test", cname.Target);
    }

    [Fact]
    public void Ns_and_soa_records()
    {
        var ns = Answer("example.test", DnsRecordType.NS, new Rr("example.test", DnsRecordType.NS, 300, DnsWire.NameData("ns1.example.test")));
        Assert.Equal("ns1.example.test", Assert.IsType<NsRecord>(Assert.Single(ns.Records)).Target);

        var soa = Answer("example.test", DnsRecordType.SOA, Rr.Soa("example.test", ttl: 900, minimum: 60));
        Assert.Equal(new SoaRecord("example.test", TimeSpan.FromSeconds(900), "ns.example.test", "hostmaster.example.test",
            2030010101, 7200, 3600, 1209600, 60), Assert.Single(soa.Records));
    }

    [Fact]
    public void Tlsa_record()
    {
        var name = "_25._tcp.mx1.example.test";
        byte[] digest = [.. Enumerable.Range(0, 32).Select(i => (byte)i)];
        var response = Answer(name, DnsRecordType.TLSA, new Rr(name, DnsRecordType.TLSA, 300, [3, 1, 1, .. digest]));

        var tlsa = Assert.IsType<TlsaRecord>(Assert.Single(response.Records));
        Assert.Equal((3, 1, 1), (tlsa.Usage, tlsa.Selector, tlsa.MatchingType));
        Assert.Equal(digest, tlsa.Data);
    }

    [Fact]
    public void Unknown_types_and_other_classes_are_skipped()
    {
        var response = Answer("example.test", DnsRecordType.A,
            new Rr("example.test", (DnsRecordType)99, 300, [1, 2, 3]),
            new Rr("example.test", DnsRecordType.A, 300, [10, 0, 0, 1], Class: 3), // CHAOS
            Rr.A("example.test", "192.0.2.7"));

        Assert.Equal(IPAddress.Parse("192.0.2.7"), Assert.IsType<AddressRecord>(Assert.Single(response.Records)).Address);
    }

    [Fact]
    public void Records_of_other_names_or_types_are_not_the_answer()
    {
        var response = Answer("example.test", DnsRecordType.A,
            Rr.A("other.test", "192.0.2.1"), Rr.Aaaa("example.test", "2001:db8::1"));

        Assert.Equal(DnsStatus.NoData, response.Status);
        Assert.Empty(response.Records);
    }

    [Fact]
    public void Question_and_owner_names_compare_case_insensitively()
    {
        var message = DnsWire.Response(Id, "ExAmPlE.TeSt", DnsRecordType.A, answers: [Rr.A("EXAMPLE.test", "192.0.2.1")]);

        var response = Decode(message, "example.TEST", DnsRecordType.A);

        Assert.Equal(DnsStatus.Ok, response.Status);
        Assert.Equal("EXAMPLE.test", response.Records[0].Name);
    }

    [Fact]
    public void Ad_bit_is_reported()
    {
        var message = DnsWire.Response(Id, "example.test", DnsRecordType.A, flags: DnsWire.ResponseFlags | DnsWire.AD,
            answers: [Rr.A("example.test", "192.0.2.1")]);

        Assert.True(Decode(message, "example.test", DnsRecordType.A).Authenticated);
        Assert.False(Answer("example.test", DnsRecordType.A, Rr.A("example.test", "192.0.2.1")).Authenticated);
    }

    [Fact]
    public void Ttl_with_the_top_bit_set_counts_as_zero()
    {
        var response = Answer("example.test", DnsRecordType.A, Rr.A("example.test", "192.0.2.1", ttl: 0x80000000));

        Assert.Equal(TimeSpan.Zero, response.Records[0].Ttl);
    }

    [Fact]
    public void Compressed_names_in_owner_and_data()
    {
        // Question at 12: example.test. Answer 1: owner -> 12, MX 10 "mx1" + pointer to 12.
        // Answer 2: owner -> 12, MX 20 "mx2" + pointer to the "mx1.example.test" suffix chain... of answer 1.
        var wire = new DnsWire().Header(Id, DnsWire.ResponseFlags, an: 2).Question("example.test", DnsRecordType.MX);
        wire.Pointer(12).U16((ushort)DnsRecordType.MX).U16(1).U32(300).U16(2 + 4 + 2);
        var exchange1 = wire.Length + 2;
        wire.U16(10).Labels("mx1").Pointer(12);
        wire.Pointer(12).U16((ushort)DnsRecordType.MX).U16(1).U32(300).U16(2 + 4 + 2);
        wire.U16(20).Labels("mx2").Pointer(exchange1 + 4); // -> "example.test" through mx1's own pointer

        var response = Decode(wire.ToArray(), "example.test", DnsRecordType.MX);

        Assert.Equal(DnsStatus.Ok, response.Status);
        Assert.Equal(["mx1.example.test", "mx2.example.test"], response.Records.Cast<MxRecord>().Select(m => m.Exchange));
        Assert.All(response.Records, r => Assert.Equal("example.test", r.Name));
    }

    [Fact]
    public void Cname_chain_is_followed_and_records_keep_their_owner()
    {
        // www.example.test CNAME a.example.test; a CNAME b.other.test; b.other.test A x2, all compressed.
        var wire = new DnsWire().Header(Id, DnsWire.ResponseFlags, an: 4).Question("www.example.test", DnsRecordType.A);
        wire.Pointer(12).RecordTail(DnsRecordType.CNAME, 300, new DnsWire().Labels("a").Pointer(16).ToArray());
        var aName = wire.Length - 4; // "a" + pointer: the CNAME target in the data
        wire.Pointer(aName).RecordTail(DnsRecordType.CNAME, 60, DnsWire.NameData("b.other.test"));
        var bName = wire.Length - DnsWire.NameData("b.other.test").Length;
        wire.Pointer(bName).RecordTail(DnsRecordType.A, 600, [192, 0, 2, 1]);
        wire.Pointer(bName).RecordTail(DnsRecordType.A, 600, [192, 0, 2, 2]);

        var response = Decode(wire.ToArray(), "www.example.test", DnsRecordType.A);

        Assert.Equal(DnsStatus.Ok, response.Status);
        Assert.Equal(
            [new AddressRecord("b.other.test", TimeSpan.FromSeconds(600), IPAddress.Parse("192.0.2.1")),
             new AddressRecord("b.other.test", TimeSpan.FromSeconds(600), IPAddress.Parse("192.0.2.2"))],
            response.Records.Cast<AddressRecord>());
        Assert.Equal(TimeSpan.FromSeconds(60), response.CacheTtl); // the chain's least TTL
    }

    [Fact]
    public void Cname_chain_in_any_order()
    {
        var response = Answer("www.example.test", DnsRecordType.A,
            Rr.A("c.example.test", "192.0.2.9"),
            Rr.Cname("b.example.test", "c.example.test"),
            Rr.Cname("www.example.test", "b.example.test"));

        Assert.Equal("c.example.test", Assert.Single(response.Records).Name);
    }

    [Fact]
    public void Cname_chain_without_an_end_is_nodata()
    {
        var message = DnsWire.Response(Id, "www.example.test", DnsRecordType.A,
            answers: [Rr.Cname("www.example.test", "gone.example.test")],
            authority: [Rr.Soa("example.test", ttl: 3600, minimum: 120)]);

        var response = Decode(message, "www.example.test", DnsRecordType.A);

        Assert.Equal(DnsStatus.NoData, response.Status);
        Assert.Equal(TimeSpan.FromSeconds(120), response.CacheTtl);
    }

    [Fact]
    public void Cname_loop_is_a_server_failure()
    {
        var response = Answer("a.example.test", DnsRecordType.A,
            Rr.Cname("a.example.test", "b.example.test"), Rr.Cname("b.example.test", "a.example.test"));

        Assert.Equal(DnsStatus.ServerFailure, response.Status);
    }

    [Fact]
    public void Cname_chain_longer_than_the_limit_is_a_server_failure()
    {
        var chain = Enumerable.Range(0, DnsMessage.MaxCnameChain + 1)
            .Select(i => Rr.Cname($"n{i}.example.test", $"n{i + 1}.example.test"))
            .Append(Rr.A($"n{DnsMessage.MaxCnameChain + 1}.example.test", "192.0.2.1"))
            .ToArray();

        Assert.Equal(DnsStatus.ServerFailure, Answer("n0.example.test", DnsRecordType.A, chain).Status);
        Assert.Equal(DnsStatus.Ok, Answer("n1.example.test", DnsRecordType.A, chain[1..]).Status);
    }

    [Fact]
    public void Nxdomain_with_soa_gives_the_negative_ttl_from_the_soa_minimum()
    {
        var message = DnsWire.Response(Id, "nope.example.test", DnsRecordType.A, rcode: 3,
            authority: [Rr.Soa("example.test", ttl: 3600, minimum: 300)]);

        var response = Decode(message, "nope.example.test", DnsRecordType.A);

        Assert.Equal(DnsStatus.NxDomain, response.Status);
        Assert.Empty(response.Records);
        Assert.Equal(TimeSpan.FromSeconds(300), response.CacheTtl);
    }

    [Fact]
    public void Nodata_with_soa_gives_the_negative_ttl_from_the_soa_ttl_when_lower()
    {
        var message = DnsWire.Response(Id, "example.test", DnsRecordType.AAAA,
            authority: [Rr.Soa("example.test", ttl: 45, minimum: 300)]);

        var response = Decode(message, "example.test", DnsRecordType.AAAA);

        Assert.Equal(DnsStatus.NoData, response.Status);
        Assert.Equal(TimeSpan.FromSeconds(45), response.CacheTtl);
    }

    [Fact]
    public void Negative_answer_without_soa_is_not_cacheable()
    {
        var response = Decode(DnsWire.Response(Id, "nope.example.test", DnsRecordType.A, rcode: 3), "nope.example.test", DnsRecordType.A);

        Assert.Equal(DnsStatus.NxDomain, response.Status);
        Assert.Null(response.CacheTtl);
    }

    [Theory]
    [InlineData(2, DnsStatus.ServerFailure)]
    [InlineData(5, DnsStatus.Refused)]
    [InlineData(1, DnsStatus.ServerFailure)] // FORMERR
    [InlineData(4, DnsStatus.ServerFailure)] // NOTIMP
    public void Error_rcodes(int rcode, DnsStatus expected)
    {
        var withQuestion = DnsWire.Response(Id, "example.test", DnsRecordType.A, rcode: rcode);
        var withoutQuestion = new DnsWire().Header(Id, (ushort)(DnsWire.ResponseFlags | rcode), qd: 0).ToArray();

        Assert.Equal(expected, Decode(withQuestion, "example.test", DnsRecordType.A).Status);
        Assert.Equal(expected, Decode(withoutQuestion, "example.test", DnsRecordType.A).Status);
        Assert.Null(Decode(withQuestion, "example.test", DnsRecordType.A).CacheTtl);
    }

    [Fact]
    public void Truncated_response_asks_for_tcp_whatever_follows()
    {
        // TC set, and it claims nine answers that are not there.
        var message = new DnsWire().Header(Id, DnsWire.ResponseFlags | DnsWire.TC, an: 9).Question("example.test", DnsRecordType.TXT).ToArray();

        var response = Decode(message, "example.test", DnsRecordType.TXT);

        Assert.True(response.Truncated);
        Assert.Empty(response.Records);
    }
}
