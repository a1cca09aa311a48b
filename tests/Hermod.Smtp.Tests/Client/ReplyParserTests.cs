using System.Buffers;
using System.Text;
using Hermod.Core.Smtp;
using Hermod.Smtp.Client;
using Hermod.Smtp.Tests.TestKit;

namespace Hermod.Smtp.Tests.Client;

public sealed class ReplyParserTests
{
    public static TheoryData<string, int, string, string> Replies => new()
    {
        { "220 mx.example.test ESMTP ready\r\n", 220, "", "mx.example.test ESMTP ready" },
        { "250 2.1.0 Sender OK\r\n", 250, "2.1.0", "Sender OK" },
        { "250-mx.example.test Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n", 250, "", "mx.example.test Hello\nPIPELINING\nSIZE 1000\n8BITMIME" },
        { "550-5.7.1 Message rejected\r\n550-5.7.1 see https://example.test/why\r\n550 5.7.1 bye\r\n", 550, "5.7.1", "Message rejected\nsee https://example.test/why\nbye" },
        { "451 4.3.0\r\n", 451, "4.3.0", "" },
        { "250\r\n", 250, "", "" },
        { "250 \r\n", 250, "", "" },
        { "250-smtp-sink\r\n250-DSN\r\n250 \r\n", 250, "", "smtp-sink\nDSN\n" },
        { "354 End data with <CR><LF>.<CR><LF>\r\n", 354, "", "End data with <CR><LF>.<CR><LF>" },
        { "334 VXNlcm5hbWU6\r\n", 334, "", "VXNlcm5hbWU6" },
        { "550 4.2.2 class does not match the code\r\n", 550, "", "4.2.2 class does not match the code" },
        { "250 2.0.0queued\r\n", 250, "", "2.0.0queued" },
        { "250 2.1000.0 too many digits\r\n", 250, "", "2.1000.0 too many digits" },
        { "250 bare LF ending\n", 250, "", "bare LF ending" },
        { "250-first\n250 second\r\n", 250, "", "first\nsecond" },
        { "554 5.7.1 Zugriff verweigert: Müll\r\n", 554, "5.7.1", "Zugriff verweigert: Müll" },
        { "250-2.0.0 first\r\n250 second without code\r\n", 250, "2.0.0", "first\nsecond without code" },
        { "250 2.01.0 leading zero\r\n", 250, "2.1.0", "leading zero" },
    };

    [Theory]
    [MemberData(nameof(Replies))]
    public void Parses_a_reply_at_every_split_point(string input, int code, string enhanced, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(input + "NEXT");
        foreach (var cuts in Segments.AllCuts(bytes.Length))
        {
            var reader = new SequenceReader<byte>(Segments.Split(bytes, cuts));
            Assert.True(ReplyParser.TryParse(ref reader, out var reply), $"cuts {string.Join(",", cuts)}");
            Assert.Equal(new SmtpReply(code, EnhancedStatusCode.Parse(enhanced), text), reply);
            Assert.Equal("NEXT", Encoding.UTF8.GetString(reader.UnreadSequence));
        }
    }

    [Theory]
    [MemberData(nameof(Replies))]
    public void An_incomplete_reply_needs_more_data_and_leaves_the_reader_where_it_was(string input, int code, string enhanced, string text)
    {
        _ = (code, enhanced, text);
        var bytes = Encoding.UTF8.GetBytes(input);
        for (var length = 0; length < bytes.Length; length++)
            for (var cut = 0; cut <= length; cut++)
            {
                var reader = new SequenceReader<byte>(Segments.Split(bytes[..length], cut));
                Assert.False(ReplyParser.TryParse(ref reader, out _));
                Assert.Equal(0, reader.Consumed);
            }
    }

    [Fact]
    public void Reads_pipelined_replies_one_at_a_time()
    {
        var bytes = "250 2.1.0 OK\r\n550 5.1.1 unknown\r\n451-4.2.0 busy\r\n451 4.2.0 later\r\n354 go ahead\r\n"u8.ToArray();
        foreach (var cuts in Segments.AllCuts(bytes.Length))
        {
            var reader = new SequenceReader<byte>(Segments.Split(bytes, cuts));
            var codes = new List<int>();
            while (ReplyParser.TryParse(ref reader, out var reply))
                codes.Add(reply.Code);
            Assert.Equal([250, 550, 451, 354], codes);
            Assert.True(reader.End);
        }
    }

    [Theory]
    [InlineData("25 short\r\n")]
    [InlineData("abc text\r\n")]
    [InlineData("\r\n")]
    [InlineData("250_underscore\r\n")]
    [InlineData("150 one-yz is not SMTP\r\n")]
    [InlineData("260 second digit past 5\r\n")]
    [InlineData("250-first\r\n251 code changed\r\n")]
    [InlineData("250-first\r\nXYZ garbage\r\n")]
    public void A_malformed_reply_is_a_protocol_error(string input)
    {
        var bytes = Encoding.UTF8.GetBytes(input);
        foreach (var cuts in Segments.AllCuts(bytes.Length))
            Assert.Throws<InvalidDataException>(() => Parse(Segments.Split(bytes, cuts)));
    }

    [Fact]
    public void A_line_of_2048_octets_is_allowed_and_one_more_is_a_protocol_error()
    {
        var longest = "250 " + new string('x', ReplyParser.MaxLineLength - 6) + "\r\n";
        Assert.Equal(ReplyParser.MaxLineLength, longest.Length);
        Assert.Equal(250, Parse(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(longest)))!.Code);

        var tooLong = "250 " + new string('x', ReplyParser.MaxLineLength - 5) + "\r\n";
        Assert.Throws<InvalidDataException>(() => Parse(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(tooLong))));
    }

    [Fact]
    public void An_overlong_line_is_refused_before_its_end_arrives()
    {
        // No line ending yet, but already past the limit: waiting for more would buffer without bound.
        var partial = Encoding.ASCII.GetBytes("250-" + new string('x', ReplyParser.MaxLineLength));
        Assert.Throws<InvalidDataException>(() => Parse(Segments.Split(partial, 100, 2000)));
    }

    [Fact]
    public void A_reply_of_100_lines_is_allowed_and_101_is_a_protocol_error()
    {
        Assert.Equal(100, Parse(Lines(100))!.Text.Split('\n').Length);
        Assert.Throws<InvalidDataException>(() => Parse(Lines(101)));
        // The 100th line is a continuation: the reply cannot end within the limit, so no need to wait for more.
        var unfinished = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 100).Select(i => $"250-line {i}\r\n")));
        Assert.Throws<InvalidDataException>(() => Parse(new ReadOnlySequence<byte>(unfinished)));
    }

    [Fact]
    public void A_reply_written_by_SmtpReply_parses_back_to_itself()
    {
        var original = new SmtpReply(550, new(5, 7, 1), "first line\nsecond line\nthird");
        var writer = new ArrayBufferWriter<byte>();
        original.WriteTo(writer);
        Assert.Equal(original, Parse(new ReadOnlySequence<byte>(writer.WrittenMemory)));
    }

    private static ReadOnlySequence<byte> Lines(int count) =>
        new(Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, count).Select(i => $"250{(i == count - 1 ? ' ' : '-')}line {i}\r\n"))));

    private static SmtpReply? Parse(ReadOnlySequence<byte> input)
    {
        var reader = new SequenceReader<byte>(input);
        return ReplyParser.TryParse(ref reader, out var reply) ? reply : null;
    }
}
