using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Smtp.Protocol;

namespace Hermod.Smtp.Tests.Protocol;

/// <summary>MAIL FROM's parameters at their edges: each one's accepted and refused values, case, duplicates, and the exact reply for each refusal.</summary>
public sealed class MailParametersTests
{
    private static MailParameters Parse(string text)
    {
        Assert.True(MailParameters.TryParse(text, out var parameters, out var error), error?.ToString());
        return parameters;
    }

    private static SmtpReply Refusal(string text)
    {
        Assert.False(MailParameters.TryParse(text, out _, out var error));
        return error;
    }

    private static SmtpReply BadValue(string keyword) => new(501, new(5, 5, 4), $"Bad value for {keyword}");

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void No_parameters_give_the_defaults(string text) =>
        Assert.Equal(new MailParameters(null, BodyType.SevenBit, false, DsnReturn.Default, null), Parse(text));

    [Fact]
    public void Every_parameter_at_once_in_any_case_and_spacing()
    {
        var parameters = Parse(" size=1024   Body=8bitmime smtputf8 Ret=Full EnvId=QQ+2B1 auth=<> ");

        Assert.Equal(new MailParameters(1024, BodyType.EightBitMime, true, DsnReturn.Full, "QQ+1"), parameters);
    }

    [Theory]
    [InlineData("SIZE=0", 0L)]
    [InlineData("SIZE=007", 7L)]
    [InlineData("SIZE=52428800", 52428800L)]
    [InlineData("SIZE=9223372036854775807", long.MaxValue)]
    public void Size_takes_a_decimal_number_of_octets(string text, long size) => Assert.Equal(size, Parse(text).Size);

    [Theory]
    [InlineData("SIZE")]
    [InlineData("SIZE=")]
    [InlineData("SIZE=9223372036854775808")] // past long: refused, not wrapped
    [InlineData("SIZE=99999999999999999999")]
    [InlineData("SIZE=-1")]
    [InlineData("SIZE=+1")]
    [InlineData("SIZE=1.5")]
    [InlineData("SIZE=1e3")]
    [InlineData("SIZE=0x10")]
    [InlineData("SIZE=1,000")]
    [InlineData("SIZE=\u0661\u0662")] // digits, but not ASCII ones
    [InlineData("SIZE==1")]
    public void Size_refuses_anything_else(string text) => Assert.Equal(BadValue("SIZE"), Refusal(text));

    [Theory]
    [InlineData("BODY=7BIT", BodyType.SevenBit)]
    [InlineData("BODY=7bit", BodyType.SevenBit)]
    [InlineData("BODY=8BITMIME", BodyType.EightBitMime)]
    [InlineData("body=8BitMime", BodyType.EightBitMime)]
    public void Body_is_7bit_or_8bitmime(string text, BodyType body) => Assert.Equal(body, Parse(text).Body);

    [Theory]
    [InlineData("BODY")]
    [InlineData("BODY=")]
    [InlineData("BODY=BINARYMIME")] // RFC 3030's, not offered
    [InlineData("BODY=8BIT")]
    [InlineData("BODY=8BITMIME=")]
    public void Body_refuses_anything_else(string text) => Assert.Equal(BadValue("BODY"), Refusal(text));

    [Theory]
    [InlineData("SMTPUTF8=")]
    [InlineData("SMTPUTF8=yes")]
    public void Smtputf8_takes_no_value(string text)
    {
        Assert.True(Parse("SMTPUTF8").SmtpUtf8);
        Assert.Equal(BadValue("SMTPUTF8"), Refusal(text));
    }

    [Theory]
    [InlineData("RET=FULL", DsnReturn.Full)]
    [InlineData("ret=hdrs", DsnReturn.Headers)]
    public void Ret_is_full_or_hdrs(string text, DsnReturn ret) => Assert.Equal(ret, Parse(text).Ret);

    [Theory]
    [InlineData("RET")]
    [InlineData("RET=")]
    [InlineData("RET=NONE")]
    [InlineData("RET=HEADERS")]
    public void Ret_refuses_anything_else(string text) => Assert.Equal(BadValue("RET"), Refusal(text));

    [Theory]
    [InlineData("ENVID=abc", "abc")]
    [InlineData("ENVID=QQ+2B1", "QQ+1")]
    [InlineData("ENVID=a+3Db", "a=b")]
    [InlineData("ENVID=+20+7E", " ~")]
    [InlineData("ENVID=+E9", "\u00E9")] // an escape is one octet, kept as that character
    public void Envid_is_xtext_decoded(string text, string envelopeId) => Assert.Equal(envelopeId, Parse(text).EnvelopeId);

    [Theory]
    [InlineData(100, true)]
    [InlineData(101, false)]
    public void Envid_is_at_most_100_characters_once_decoded(int length, bool accepted)
    {
        var plain = "ENVID=" + new string('x', length);
        var escaped = "ENVID=" + string.Concat(Enumerable.Repeat("+41", length)); // three characters each on the wire, one decoded

        Assert.Equal(accepted, MailParameters.TryParse(plain, out var parameters, out _));
        Assert.Equal(accepted, MailParameters.TryParse(escaped, out var decoded, out _));
        if (accepted)
        {
            Assert.Equal(new string('x', length), parameters.EnvelopeId);
            Assert.Equal(new string('A', length), decoded.EnvelopeId);
        }
    }

    [Theory]
    [InlineData("ENVID")]
    [InlineData("ENVID=")]
    [InlineData("ENVID=a+4")] // an escape cut short
    [InlineData("ENVID=a+")]
    [InlineData("ENVID=a+4g")]
    [InlineData("ENVID=a+4a")] // hex digits are upper case
    [InlineData("ENVID=a=b")] // '=' must be escaped
    [InlineData("ENVID=caf\u00E9")] // outside 33..126
    [InlineData("ENVID=a\u0001")]
    public void Envid_refuses_empty_values_and_bad_xtext(string text) => Assert.Equal(BadValue("ENVID"), Refusal(text));

    [Theory]
    [InlineData("AUTH=<>")]
    [InlineData("AUTH=alice+40example.test")]
    [InlineData("AUTH=")]
    public void Auth_is_accepted_and_ignored_when_it_is_xtext(string text) =>
        Assert.Equal(new MailParameters(null, BodyType.SevenBit, false, DsnReturn.Default, null), Parse(text));

    [Theory]
    [InlineData("AUTH")]
    [InlineData("AUTH=a+zz")]
    public void Auth_refuses_anything_else(string text) => Assert.Equal(BadValue("AUTH"), Refusal(text));

    [Theory]
    [InlineData("SIZE=1 SIZE=2", "SIZE")]
    [InlineData("size=1 SIZE=1", "SIZE")]
    [InlineData("BODY=7BIT BODY=8BITMIME", "BODY")]
    [InlineData("SMTPUTF8 smtputf8", "SMTPUTF8")]
    [InlineData("RET=FULL RET=HDRS", "RET")]
    [InlineData("ENVID=a SIZE=1 ENVID=b", "ENVID")]
    [InlineData("AUTH=<> AUTH=<>", "AUTH")]
    public void A_parameter_given_twice_is_refused(string text, string keyword) =>
        Assert.Equal(new SmtpReply(501, new(5, 5, 4), $"Duplicate parameter {keyword}"), Refusal(text));

    [Theory]
    [InlineData("FOO=1", "FOO")]
    [InlineData("foo", "FOO")]
    [InlineData("X-Custom=1", "X-CUSTOM")]
    [InlineData("NOTIFY=NEVER", "NOTIFY")] // RCPT's
    [InlineData("ORCPT=rfc822;a@b.test", "ORCPT")]
    [InlineData("BINARYMIME", "BINARYMIME")]
    [InlineData("FOO=1 FOO=1", "FOO")] // refused at its first appearance
    public void A_parameter_mail_does_not_take_is_refused_with_555(string text, string keyword) =>
        Assert.Equal(new SmtpReply(555, new(5, 5, 4), $"Unsupported parameter {keyword}"), Refusal(text));

    [Fact]
    public void An_unsupported_keyword_is_named_within_64_characters()
    {
        var refusal = Refusal(new string('k', 100));

        Assert.Equal("Unsupported parameter " + new string('K', 64), refusal.Text);
    }

    [Theory]
    [InlineData("FOO=1 SIZE=x", 555)]
    [InlineData("SIZE=x FOO=1", 501)]
    [InlineData("SIZE=1 SIZE=x", 501)]
    public void The_first_bad_parameter_decides_the_reply(string text, int code) => Assert.Equal(code, Refusal(text).Code);
}
