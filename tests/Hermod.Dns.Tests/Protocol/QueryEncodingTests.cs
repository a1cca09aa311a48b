using Hermod.Dns.Protocol;

namespace Hermod.Dns.Tests.Protocol;

public class QueryEncodingTests
{
    [Fact]
    public void Query_has_id_rd_ad_one_question_and_an_edns0_opt_record()
    {
        Assert.True(DnsQuestion.TryCreate("example.test", DnsRecordType.MX, out var question));

        var bytes = DnsMessage.EncodeQuery(0xBEEF, question);

        byte[] expected =
        [
            0xBE, 0xEF,             // id
            0x01, 0x20,             // RD, AD (RFC 6840 5.7); QR, opcode, TC, CD and RCODE zero
            0x00, 0x01,             // QDCOUNT
            0x00, 0x00, 0x00, 0x00, // ANCOUNT, NSCOUNT
            0x00, 0x01,             // ARCOUNT: OPT
            7, (byte)'e', (byte)'x', (byte)'a', (byte)'m', (byte)'p', (byte)'l', (byte)'e',
            4, (byte)'t', (byte)'e', (byte)'s', (byte)'t', 0,
            0x00, 0x0F,             // QTYPE MX
            0x00, 0x01,             // QCLASS IN
            0x00,                   // OPT owner: root
            0x00, 0x29,             // TYPE OPT (41)
            0x04, 0xD0,             // CLASS: UDP payload size 1232
            0x00, 0x00, 0x00, 0x00, // extended RCODE 0, version 0, DO off
            0x00, 0x00,             // RDLENGTH
        ];
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData("example.test.", "example.test")]
    [InlineData("Example.TEST", "Example.TEST")]
    [InlineData("bücher.example", "xn--bcher-kva.example")]
    [InlineData("BÜCHER.example", "xn--bcher-kva.example")]
    [InlineData("_dmarc.bücher.example", "_dmarc.xn--bcher-kva.example")]
    [InlineData("", ".")]
    [InlineData(".", ".")]
    public void Names_are_written_as_ascii_labels(string name, string wireText)
    {
        Assert.True(DnsQuestion.TryCreate(name, DnsRecordType.A, out var question));
        Assert.Equal(wireText, question.Name);
        var expected = new TestKit.DnsWire().Name(wireText == "." ? "" : wireText).ToArray();
        Assert.Equal(expected, question.WireName);
    }

    [Theory]
    [InlineData("a..example")]
    [InlineData(".example")]
    [InlineData("..")]
    public void Empty_labels_are_rejected(string name) =>
        Assert.False(DnsQuestion.TryCreate(name, DnsRecordType.A, out _));

    [Fact]
    public void Label_of_63_is_accepted_and_64_rejected()
    {
        Assert.True(DnsQuestion.TryCreate(new string('a', 63) + ".example", DnsRecordType.A, out _));
        Assert.False(DnsQuestion.TryCreate(new string('a', 64) + ".example", DnsRecordType.A, out _));
    }

    [Fact]
    public void Name_of_255_octets_is_accepted_and_256_rejected()
    {
        // four labels of 63 octets = 4 * 64 + 1 = 257 octets; 61 in the last one gives 255.
        var label = new string('a', 63);
        var fits = $"{label}.{label}.{label}.{new string('b', 61)}";
        var tooLong = $"{label}.{label}.{label}.{new string('b', 62)}";
        Assert.True(DnsQuestion.TryCreate(fits, DnsRecordType.A, out var question));
        Assert.Equal(255, question.WireName.Length);
        Assert.False(DnsQuestion.TryCreate(tooLong, DnsRecordType.A, out _));
    }

    [Fact]
    public void Query_ids_are_the_given_ones()
    {
        Assert.True(DnsQuestion.TryCreate("example.test", DnsRecordType.A, out var question));
        Assert.Equal([0x12, 0x34], DnsMessage.EncodeQuery(0x1234, question)[..2]);
        Assert.Equal([0xFF, 0xFF], DnsMessage.EncodeQuery(0xFFFF, question)[..2]);
    }
}
