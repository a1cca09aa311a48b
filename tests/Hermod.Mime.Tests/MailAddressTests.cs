namespace Hermod.Mime.Tests;

public class MailAddressTests
{
    [Theory]
    [InlineData("a@example.com", "a@example.com", null)]
    [InlineData("  a@example.com  ", "a@example.com", null)]
    [InlineData("<a@example.com>", "a@example.com", null)]
    [InlineData("John Doe <a@example.com>", "a@example.com", "John Doe")]
    [InlineData("\"Doe, John\" <a@example.com>", "a@example.com", "Doe, John")]
    [InlineData("\"The \\\"Boss\\\"\" <a@example.com>", "a@example.com", "The \"Boss\"")]
    [InlineData("Jürgen Müller <jürgen@müller.example>", "jürgen@müller.example", "Jürgen Müller")]
    [InlineData("\"a <b>\" <c@example.com>", "c@example.com", "a <b>")]
    [InlineData("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk", null)]
    [InlineData("\"john doe\"@example.com", "\"john doe\"@example.com", null)]
    [InlineData("user@[127.0.0.1]", "user@[127.0.0.1]", null)]
    [InlineData("user@[IPv6:2001:db8::1]", "user@[IPv6:2001:db8::1]", null)]
    [InlineData("用户@例子.广告", "用户@例子.广告", null)]
    [InlineData("x@localhost", "x@localhost", null)]
    public void Parses(string text, string address, string? name)
    {
        var parsed = MailAddress.Parse(text);

        Assert.Equal(new MailAddress(address, name), parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("x")]
    [InlineData("a@")]
    [InlineData("@b.com")]
    [InlineData("a b@c.com")]
    [InlineData("a@b c.com")]
    [InlineData("a..b@c.com")]
    [InlineData(".a@c.com")]
    [InlineData("a.@c.com")]
    [InlineData("a@-b.com")]
    [InlineData("a@b-.com")]
    [InlineData("a@b..com")]
    [InlineData("a@b.com.")]
    [InlineData("a@b_c.com")]
    [InlineData("Name <a@b.com")]
    [InlineData("Name a@b.com>")]
    [InlineData("a@b.com\r\nBcc: x@y.com")]
    [InlineData("Name\r\n <a@b.com>")]
    [InlineData("a@[1.2.3]")]
    [InlineData("a@[IPv6:zz]")]
    [InlineData("\"unterminated@b.com")]
    [InlineData("\"x\" y@b.com")]
    [InlineData("a\u0000@b.com")]
    [InlineData("Tab\tName <a@b.com>")]
    public void Refuses(string text)
    {
        Assert.False(MailAddress.TryParse(text, out _));
        Assert.Throws<FormatException>(() => MailAddress.Parse(text));
    }

    [Fact]
    public void Local_part_and_labels_have_length_limits()
    {
        Assert.True(MailAddress.IsValidAddress(new string('a', 64) + "@example.com"));
        Assert.False(MailAddress.IsValidAddress(new string('a', 65) + "@example.com"));
        Assert.False(MailAddress.IsValidAddress(new string('ü', 33) + "@example.com")); // 66 octets
        Assert.True(MailAddress.IsValidAddress("a@" + new string('b', 63) + ".com"));
        Assert.False(MailAddress.IsValidAddress("a@" + new string('b', 64) + ".com"));
    }

    [Fact]
    public void International_addresses_need_smtputf8()
    {
        Assert.True(new MailAddress("jürgen@example.com").IsInternational);
        Assert.True(new MailAddress("a@müller.example").IsInternational);
        Assert.False(new MailAddress("a@example.com", "Jürgen").IsInternational);
    }

    [Theory]
    [InlineData("a@b.com", null, "a@b.com")]
    [InlineData("a@b.com", "Doe, \"J\"", "\"Doe, \\\"J\\\"\" <a@b.com>")]
    public void To_string_is_what_a_person_would_type(string address, string? name, string expected)
    {
        var mailbox = new MailAddress(address, name);

        Assert.Equal(expected, mailbox.ToString());
        Assert.Equal(mailbox, MailAddress.Parse(mailbox.ToString()));
    }
}
