using System.Buffers;
using System.Text;
using Hermod.Smtp.Protocol;
using Hermod.Smtp.Tests.TestKit;

namespace Hermod.Smtp.Tests.Protocol;

public sealed class CommandParserTests
{
    private const int MaxCommandLine = 512;

    public static TheoryData<string, string[], string> Pipelined => new()
    {
        { "MAIL FROM:<a@b.test> SIZE=10\r\nRCPT TO:<c@d.test>\r\n", ["MAIL FROM:<a@b.test> SIZE=10", "RCPT TO:<c@d.test>"], "" },
        { "EHLO client.test\r\n\r\nNOOP\r\nQUIT\r\n", ["EHLO client.test", "", "NOOP", "QUIT"], "" },
        { "MAIL FROM:<ü@bücher.test>\r\nDATA\r\n", ["MAIL FROM:<ü@bücher.test>", "DATA"], "" },
        { "NOOP\nRSET\r\n", ["NOOP", "RSET"], "" },
        { "NOOP\r\r\nRSET\r\n", ["NOOP\r", "RSET"], "" },
        { "RSET\r\nQUIT\r", ["RSET"], "QUIT\r" },
        { "RCPT TO:<c@d.test>\r\nRCPT TO:<e@f.te", ["RCPT TO:<c@d.test>"], "RCPT TO:<e@f.te" },
    };

    [Theory]
    [MemberData(nameof(Pipelined))]
    public void TryReadLine_yields_the_same_lines_at_every_split_point(string input, string[] lines, string rest)
    {
        var bytes = Encoding.UTF8.GetBytes(input);
        foreach (var cuts in Segments.AllCuts(bytes.Length))
        {
            var (read, unread) = ReadAll(Segments.Split(bytes, cuts), MaxCommandLine);
            Assert.Equal(lines, read);
            Assert.Equal(rest, Encoding.UTF8.GetString(unread));
        }
    }

    [Theory]
    [MemberData(nameof(Pipelined))]
    public void TryReadLine_on_a_partial_buffer_yields_only_the_lines_it_holds_in_full(string input, string[] lines, string rest)
    {
        var bytes = Encoding.UTF8.GetBytes(input);
        for (var length = 0; length <= bytes.Length; length++)
        {
            var prefix = bytes[..length];
            var complete = prefix.Count(b => b == '\n');
            var partial = prefix[(Array.LastIndexOf(prefix, (byte)'\n') + 1)..];
            for (var cut = 0; cut <= length; cut++)
            {
                var (read, unread) = ReadAll(Segments.Split(prefix, cut), MaxCommandLine);
                Assert.Equal(lines[..complete], read);
                Assert.Equal(partial, unread);
                if (length == bytes.Length)
                    Assert.Equal(rest, Encoding.UTF8.GetString(unread));
            }
        }
    }

    [Theory]
    [InlineData(510, "\r\n", CommandParser.LineStatus.Complete)]
    [InlineData(511, "\n", CommandParser.LineStatus.Complete)]
    [InlineData(511, "\r\n", CommandParser.LineStatus.TooLong)]
    [InlineData(512, "\n", CommandParser.LineStatus.TooLong)]
    [InlineData(4000, "\r\n", CommandParser.LineStatus.TooLong)]
    [InlineData(511, "", CommandParser.LineStatus.NeedMore)]
    [InlineData(510, "\r", CommandParser.LineStatus.NeedMore)]
    [InlineData(512, "", CommandParser.LineStatus.TooLong)]
    [InlineData(511, "\r", CommandParser.LineStatus.TooLong)]
    [InlineData(0, "", CommandParser.LineStatus.NeedMore)]
    public void TryReadLine_enforces_the_512_octet_limit_counting_the_line_ending(int content, string ending, CommandParser.LineStatus expected)
    {
        var bytes = Encoding.ASCII.GetBytes(new string('x', content) + ending);
        foreach (var cut in new[] { 0, 1, content / 2, content, bytes.Length }.Select(c => Math.Min(c, bytes.Length)))
        {
            var reader = new SequenceReader<byte>(Segments.Split(bytes, cut));

            var status = CommandParser.TryReadLine(ref reader, MaxCommandLine, out var line);

            Assert.Equal(expected, status);
            if (expected == CommandParser.LineStatus.Complete)
            {
                Assert.Equal(content, line.Length);
                Assert.Equal(bytes.Length, reader.Consumed);
            }
            else
                Assert.Equal(0, reader.Consumed);
        }
    }

    [Fact]
    public void TryReadLine_honours_a_smaller_limit()
    {
        var bytes = "NOOP12\r\nNOOP123\r\n"u8.ToArray();
        var reader = new SequenceReader<byte>(Segments.Split(bytes, 3, 12));

        Assert.Equal(CommandParser.LineStatus.Complete, CommandParser.TryReadLine(ref reader, 8, out var first));
        Assert.Equal("NOOP12", Encoding.ASCII.GetString(first));
        Assert.Equal(CommandParser.LineStatus.TooLong, CommandParser.TryReadLine(ref reader, 8, out _));
        Assert.Equal(8, reader.Consumed);
    }

    [Fact]
    public void TrySkipLine_resynchronises_after_a_line_that_is_too_long()
    {
        var bytes = Encoding.ASCII.GetBytes(new string('x', 600) + "\r\nNOOP\r\n");
        var reader = new SequenceReader<byte>(Segments.Split(bytes, 300, 601));

        Assert.Equal(CommandParser.LineStatus.TooLong, CommandParser.TryReadLine(ref reader, MaxCommandLine, out _));
        Assert.True(CommandParser.TrySkipLine(ref reader));
        Assert.Equal(CommandParser.LineStatus.Complete, CommandParser.TryReadLine(ref reader, MaxCommandLine, out var line));
        Assert.Equal("NOOP", Encoding.ASCII.GetString(line));
        Assert.Equal(CommandParser.LineStatus.NeedMore, CommandParser.TryReadLine(ref reader, MaxCommandLine, out _));
    }

    [Fact]
    public void TrySkipLine_consumes_everything_when_the_long_line_has_not_ended()
    {
        var bytes = Encoding.ASCII.GetBytes(new string('x', 700));
        var reader = new SequenceReader<byte>(Segments.Split(bytes, 350));

        Assert.False(CommandParser.TrySkipLine(ref reader));
        Assert.Equal(700, reader.Consumed);
    }

    [Theory]
    [InlineData("HELO", SmtpVerb.Helo)]
    [InlineData("EHLO", SmtpVerb.Ehlo)]
    [InlineData("MAIL", SmtpVerb.Mail)]
    [InlineData("RCPT", SmtpVerb.Rcpt)]
    [InlineData("DATA", SmtpVerb.Data)]
    [InlineData("BDAT", SmtpVerb.Bdat)]
    [InlineData("RSET", SmtpVerb.Rset)]
    [InlineData("NOOP", SmtpVerb.Noop)]
    [InlineData("QUIT", SmtpVerb.Quit)]
    [InlineData("VRFY", SmtpVerb.Vrfy)]
    [InlineData("EXPN", SmtpVerb.Expn)]
    [InlineData("HELP", SmtpVerb.Help)]
    [InlineData("STARTTLS", SmtpVerb.StartTls)]
    [InlineData("AUTH", SmtpVerb.Auth)]
    public void Parse_recognises_verbs_in_any_case(string verb, SmtpVerb expected)
    {
        var mixed = string.Concat(verb.Select((c, i) => i % 2 == 0 ? char.ToLowerInvariant(c) : c));
        foreach (var spelling in new[] { verb, verb.ToLowerInvariant(), mixed })
        {
            Assert.Equal(new SmtpCommand(expected, ""), Parse(spelling));
            Assert.Equal(new SmtpCommand(expected, "x y"), Parse(spelling + " x y"));
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("MAI")]
    [InlineData("MAILX FROM:<a@b.test>")]
    [InlineData("MAIL:FROM:<a@b.test>")]
    [InlineData("STARTTLSX")]
    [InlineData(" NOOP")]
    [InlineData("NOOP\t")]
    [InlineData("NOOP\r")]
    [InlineData("XCLIENT ADDR=192.0.2.1")]
    [InlineData("GET / HTTP/1.1")]
    [InlineData("MAİL FROM:<a@b.test>")]
    public void Parse_reports_unknown_verbs_without_an_argument(string line) =>
        Assert.Equal(new SmtpCommand(SmtpVerb.Unknown, ""), Parse(line));

    [Theory]
    [InlineData("NOOP", "")]
    [InlineData("NOOP ", "")]
    [InlineData("NOOP    ", "")]
    [InlineData("HELO client.test", "client.test")]
    [InlineData("HELO   client.test   ", "client.test")]
    [InlineData("MAIL FROM:<a@b.test>  SIZE=10", "FROM:<a@b.test>  SIZE=10")]
    [InlineData("MAIL  FROM:<a@b.test> ", "FROM:<a@b.test>")]
    [InlineData("HELO \tclient.test\t", "\tclient.test\t")]
    [InlineData("AUTH PLAIN AGFsaWNlAHNlY3JldA==", "PLAIN AGFsaWNlAHNlY3JldA==")]
    public void Parse_trims_spaces_around_the_argument_only(string line, string argument) =>
        Assert.Equal(argument, Parse(line).Argument);

    [Theory]
    [InlineData("MAIL FROM:<用户@例子.测试> SMTPUTF8", "FROM:<用户@例子.测试> SMTPUTF8")]
    [InlineData("RCPT TO:<δοκιμή@παράδειγμα.δοκιμή>", "TO:<δοκιμή@παράδειγμα.δοκιμή>")]
    [InlineData("HELO bücher.test", "bücher.test")]
    [InlineData("VRFY \U0001F600", "\U0001F600")]
    public void Parse_decodes_the_argument_as_utf8(string line, string argument) =>
        Assert.Equal(argument, Parse(line).Argument);

    [Fact]
    public void Parse_replaces_invalid_utf8_so_it_cannot_pass_as_text()
    {
        var raw = Encoding.Latin1.GetBytes("MAIL FROM:<\u00FF@b.test>");

        var parsed = CommandParser.Parse(raw);

        Assert.Equal(SmtpVerb.Mail, parsed.Verb);
        Assert.Equal("FROM:<\uFFFD@b.test>", parsed.Argument);
    }

    private static SmtpCommand Parse(string line) => CommandParser.Parse(Encoding.UTF8.GetBytes(line));

    /// <summary>Reads lines until the parser wants more; returns them and the text left unread.</summary>
    private static (string[] Lines, byte[] Unread) ReadAll(ReadOnlySequence<byte> buffer, int maxLength)
    {
        var reader = new SequenceReader<byte>(buffer);
        var lines = new List<string>();
        while (true)
        {
            var status = CommandParser.TryReadLine(ref reader, maxLength, out var line);
            if (status != CommandParser.LineStatus.Complete)
            {
                Assert.Equal(CommandParser.LineStatus.NeedMore, status);
                return ([.. lines], reader.UnreadSequence.ToArray());
            }
            lines.Add(Encoding.UTF8.GetString(line));
        }
    }
}
