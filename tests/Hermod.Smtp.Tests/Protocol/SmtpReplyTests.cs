using System.Buffers;
using System.Reflection;
using System.Text;
using Hermod.Core.Smtp;
using Hermod.Smtp.Protocol;

namespace Hermod.Smtp.Tests.Protocol;

/// <summary><see cref="SmtpReply"/> on the wire and <see cref="EnhancedStatusCode"/> as text.</summary>
public sealed class SmtpReplyTests
{
    /// <summary>The wire form, spelled out the slow way: "CODE-" before every line but the last, "CODE " before it, the enhanced code after the separator.</summary>
    private static string Expected(SmtpReply reply)
    {
        var lines = reply.Text.Split('\n');
        var text = new StringBuilder();
        for (var i = 0; i < lines.Length; i++)
            text.Append(reply.Code).Append(i == lines.Length - 1 ? ' ' : '-')
                .Append(reply.Enhanced.IsNone ? "" : reply.Enhanced + " ").Append(lines[i]).Append("\r\n");
        return text.ToString();
    }

    private static string Written(SmtpReply reply)
    {
        var output = new ArrayBufferWriter<byte>();
        reply.WriteTo(output);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    public static TheoryData<SmtpReply> Catalogue()
    {
        var replies = new TheoryData<SmtpReply>();
        foreach (var field in typeof(SmtpReplies).GetFields(BindingFlags.Public | BindingFlags.Static))
            replies.Add((SmtpReply)field.GetValue(null)!);
        replies.Add(SmtpReply.LocalError);
        replies.Add(SmtpReplies.Greeting("mx.example.test"));
        replies.Add(SmtpReplies.Queued("01HQ"));
        replies.Add(SmtpReplies.OctetsReceived(4096));
        replies.Add(SmtpReplies.Hello("mx.example.test Hello client [192.0.2.1]\nPIPELINING\nSIZE 1000\nHELP"));
        replies.Add(new SmtpReply(550, new(5, 7, 1), "Zugriff verweigert: Müll\nzweite Zeile"));
        replies.Add(new SmtpReply(250, EnhancedStatusCode.None, "smtp-sink\nDSN\n"));
        replies.Add(new SmtpReply(451, new(4, 123, 456), ""));
        return replies;
    }

    [Theory]
    [MemberData(nameof(Catalogue))]
    public void Every_reply_is_written_as_code_separator_enhanced_code_and_line(SmtpReply reply) =>
        Assert.Equal(Expected(reply), Written(reply));

    [Fact]
    public void A_multi_line_reply_continues_with_a_dash_and_ends_with_a_space()
    {
        Assert.Equal("250-2.0.0 one\r\n250-2.0.0 two\r\n250 2.0.0 \r\n", Written(new SmtpReply(250, new(2, 0, 0), "one\ntwo\n")));
        Assert.Equal("334 \r\n", Written(SmtpReplies.PlainChallenge));
    }

    [Fact]
    public void The_text_form_leaves_out_a_missing_enhanced_code()
    {
        Assert.Equal("550 5.1.1 no such user", new SmtpReply(550, new(5, 1, 1), "no such user").ToString());
        Assert.Equal("354 End data with <CR><LF>.<CR><LF>", SmtpReplies.StartData.ToString());
    }

    [Fact]
    public void The_class_comes_from_the_code_or_without_a_reply_from_the_enhanced_code()
    {
        Assert.True(new SmtpReply(550, new(5, 1, 1), "x").IsPermanent);
        Assert.True(new SmtpReply(451, new(4, 3, 0), "x").IsTransient);
        Assert.True(new SmtpReply(0, new(5, 1, 10), "null MX").IsPermanent);
        Assert.True(new SmtpReply(0, new(4, 4, 1), "connection refused").IsTransient);
        var positive = new SmtpReply(354, EnhancedStatusCode.None, "go on");
        Assert.True(positive.IsPositive);
        Assert.False(positive.IsPermanent || positive.IsTransient);
    }

    [Theory]
    [InlineData(199)]
    [InlineData(600)]
    [InlineData(-1)]
    public void A_code_outside_200_to_599_or_0_is_refused(int code) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new SmtpReply(code, EnhancedStatusCode.None, ""));

    [Theory]
    [InlineData("2.0.0", 2, 0, 0)]
    [InlineData("5.7.26", 5, 7, 26)]
    [InlineData("5.1.10", 5, 1, 10)]
    [InlineData("4.999.999", 4, 999, 999)]
    public void An_enhanced_code_parses_and_formats_back(string text, int @class, int subject, int detail)
    {
        var code = EnhancedStatusCode.Parse(text);
        Assert.Equal(new EnhancedStatusCode(@class, subject, detail), code);
        Assert.Equal((@class, subject, detail), (code.Class, code.Subject, code.Detail));
        Assert.Equal(text, code.ToString());
        Assert.Equal(text.Length, code.Length);
        var utf8 = new byte[EnhancedStatusCode.MaxLength];
        Assert.True(code.TryFormat(utf8, out var written));
        Assert.Equal(text, Encoding.ASCII.GetString(utf8, 0, written));
        Assert.False(code.TryFormat(new byte[text.Length - 1], out _));
        Assert.Equal(text, $"{code}");
    }

    [Fact]
    public void None_is_the_empty_text_and_the_default()
    {
        Assert.Equal(EnhancedStatusCode.None, default);
        Assert.True(EnhancedStatusCode.Parse("").IsNone);
        Assert.Equal("", EnhancedStatusCode.None.ToString());
        Assert.Equal(0, EnhancedStatusCode.None.Class);
    }

    [Theory]
    [InlineData("5.7")]
    [InlineData("5.7.1.")]
    [InlineData("5.7.1.2")]
    [InlineData("3.0.0")]
    [InlineData("1.0.0")]
    [InlineData("55.1.1")]
    [InlineData("5..1")]
    [InlineData("5.1.")]
    [InlineData("5.1000.0")]
    [InlineData("5.0.1000")]
    [InlineData("5.a.1")]
    [InlineData(" 5.1.1")]
    [InlineData("5.1.1 ")]
    [InlineData("x.1.1")]
    [InlineData("5,1,1")]
    public void What_is_not_an_enhanced_code_is_refused(string text)
    {
        Assert.False(EnhancedStatusCode.TryParse(text, out var code));
        Assert.True(code.IsNone);
        Assert.Throws<FormatException>(() => EnhancedStatusCode.Parse(text));
    }

    [Fact]
    public void Leading_zeros_are_read_and_formatted_away() =>
        Assert.Equal("5.1.1", EnhancedStatusCode.Parse("5.01.001").ToString());

    [Theory]
    [InlineData(3, 0, 0)]
    [InlineData(0, 0, 0)]
    [InlineData(5, 1000, 0)]
    [InlineData(5, 0, -1)]
    public void A_class_other_than_2_4_5_or_a_part_over_999_is_refused(int @class, int subject, int detail) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new EnhancedStatusCode(@class, subject, detail));
}
