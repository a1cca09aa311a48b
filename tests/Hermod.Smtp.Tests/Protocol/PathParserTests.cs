using Hermod.Core.Storage;
using Hermod.Smtp.Protocol;

namespace Hermod.Smtp.Tests.Protocol;

public sealed class PathParserTests
{
    [Theory]
    [InlineData("FROM:<a@b.test>", "FROM:", "a@b.test", "")]
    [InlineData("from:<a@b.test>", "FROM:", "a@b.test", "")]
    [InlineData("FROM: <a@b.test>", "FROM:", "a@b.test", "")]
    [InlineData("FROM:   <a@b.test>", "FROM:", "a@b.test", "")]
    [InlineData("FROM:<a@b.test> SIZE=10", "FROM:", "a@b.test", "SIZE=10")]
    [InlineData("FROM:<a@b.test> size=10 Body=8BITMIME", "FROM:", "a@b.test", "SIZE=10 BODY=8BITMIME")]
    [InlineData("FROM:<a@b.test>   SIZE=10  SMTPUTF8 ", "FROM:", "a@b.test", "SIZE=10 SMTPUTF8")]
    [InlineData("FROM:<a@b.test> SIZE=", "FROM:", "a@b.test", "SIZE=")]
    [InlineData("FROM:<a@b.test> ENVID=a=b", "FROM:", "a@b.test", "ENVID=a=b")]
    [InlineData("FROM:<>", "FROM:", "", "")]
    [InlineData("FROM:<> RET=HDRS", "FROM:", "", "RET=HDRS")]
    [InlineData("FROM:<@a.test,@b.test:x@y.test>", "FROM:", "@a.test,@b.test:x@y.test", "")]
    [InlineData("TO:<c@d.test>", "TO:", "c@d.test", "")]
    [InlineData("to: <c@d.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c+40d.test", "TO:", "c@d.test", "NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c+40d.test")]
    [InlineData("TO:<\"a>b\"@x.test>", "TO:", "\"a>b\"@x.test", "")]
    [InlineData("TO:<\"a b > c\"@x.test> NOTIFY=NEVER", "TO:", "\"a b > c\"@x.test", "NOTIFY=NEVER")]
    [InlineData("TO:<\"a\\\">\"@x.test>", "TO:", "\"a\\\">\"@x.test", "")]
    [InlineData("TO:<用户@例子.测试>", "TO:", "用户@例子.测试", "")]
    [InlineData("TO:<postmaster>", "TO:", "postmaster", "")]
    public void TrySplit_separates_path_and_parameters(string argument, string keyword, string path, string parameters)
    {
        Assert.True(PathParser.TrySplit(argument, keyword, out var actualPath, out var actualParameters, out _));

        Assert.Equal(path, actualPath);
        Assert.Equal(parameters, string.Join(' ', Walk(actualParameters).Select(p => p.Value is null ? p.Key : p.Key + "=" + p.Value)));
    }

    /// <summary>The parameters as <see cref="EsmtpParameters"/> walks them: keyword (upper case, as replies name it) and value, null when there is none.</summary>
    private static List<KeyValuePair<string, string?>> Walk(ReadOnlySpan<char> parameters)
    {
        var walked = new List<KeyValuePair<string, string?>>();
        foreach (var parameter in new EsmtpParameters(parameters))
            walked.Add(new(parameter.Keyword.ToString().ToUpperInvariant(), parameter.HasValue ? parameter.Value.ToString() : null));
        return walked;
    }

    [Fact]
    public void TrySplit_gives_a_keyword_without_value_a_null_value()
    {
        Assert.True(PathParser.TrySplit("FROM:<a@b.test> SMTPUTF8 SIZE=", "FROM:", out _, out var parameters, out _));

        Assert.Equal([new("SMTPUTF8", null), new("SIZE", "")], Walk(parameters));
    }

    [Theory]
    [InlineData("", "FROM:")]
    [InlineData("FROM:", "FROM:")]
    [InlineData("FROM: ", "FROM:")]
    [InlineData("FROM:a@b.test", "FROM:")]
    [InlineData("FROM:a@b.test>", "FROM:")]
    [InlineData("FROM:<a@b.test", "FROM:")]
    [InlineData("FROM <a@b.test>", "FROM:")]
    [InlineData("FROM:<a@b.test>SIZE=10", "FROM:")]
    [InlineData("FROM:<a@b.test>>", "FROM:")]
    [InlineData("FROM:<\"a@b.test>", "FROM:")]
    [InlineData("FROM:<\"a>@b.test>", "FROM:")]
    [InlineData("TO:<a@b.test>", "FROM:")]
    [InlineData("FROM:<a@b.test>", "TO:")]
    [InlineData("MAIL FROM:<a@b.test>", "FROM:")]
    [InlineData("FROM:<a@b.test> =10", "FROM:")]
    [InlineData("FROM:<a@b.test> SI_ZE=10", "FROM:")]
    [InlineData("FROM:<a@b.test> SIZE:10", "FROM:")]
    [InlineData("TO:c@d.test", "TO:")]
    public void TrySplit_rejects_malformed_arguments(string argument, string keyword) =>
        Assert.False(PathParser.TrySplit(argument, keyword, out _, out _, out _));

    [Theory]
    [InlineData("FROM:a@b.test", "FROM:", "Syntax: MAIL FROM:<address> [parameters]")]
    [InlineData("TO:c@d.test", "TO:", "Syntax: RCPT TO:<address> [parameters]")]
    [InlineData("FROM:<a@b.test> S\u00FCZE=1\u0007", "FROM:", "Bad parameter syntax: S?ZE=1?")]
    public void TrySplit_explains_the_refusal_in_printable_ascii(string argument, string keyword, string error)
    {
        Assert.False(PathParser.TrySplit(argument, keyword, out _, out _, out var actual));

        Assert.Equal(error, actual);
    }

    [Theory]
    [InlineData("a@b.test")]
    [InlineData("first.last@sub.example.test")]
    [InlineData("a+tag@b.test")]
    [InlineData("!#$%&'*+-/=?^_`{|}~@b.test")]
    [InlineData("a@localhost")]
    [InlineData("a@xn--bcher-kva.test")]
    [InlineData("a@3com.test")]
    [InlineData("\"a b\"@x.test")]
    [InlineData("\"a>b\"@x.test")]
    [InlineData("\"a@b\"@x.test")]
    [InlineData("\"a\\\"b\"@x.test")]
    [InlineData("\"a\\\\b\"@x.test")]
    [InlineData("\"a..b.\"@x.test")]
    [InlineData("\"\"@x.test")]
    [InlineData("a@[192.0.2.1]")]
    [InlineData("a@[0.0.0.0]")]
    [InlineData("a@[10.0.0.1]")]
    [InlineData("a@[255.255.255.255]")]
    [InlineData("a@[IPv6:::1]")]
    [InlineData("a@[IPv6:2001:db8::1]")]
    [InlineData("a@[ipv6:2001:DB8:0:0:0:0:0:1]")]
    [InlineData("a@[IPv6:::ffff:192.0.2.1]")]
    [InlineData("用户@例子.测试")]
    [InlineData("ü@bücher.test")]
    [InlineData("δοκιμή@παράδειγμα.δοκιμή")]
    [InlineData("\U0001F600@b.test")]
    public void TryParseMailbox_accepts_valid_addresses(string address)
    {
        Assert.True(PathParser.TryParseMailbox(address, out var mailbox, out _));

        Assert.Equal(address, mailbox);
    }

    [Theory]
    [InlineData("@a.test:x@y.test", "x@y.test")]
    [InlineData("@a.test,@b.test:x@y.test", "x@y.test")]
    [InlineData("@a,@b:\"x:y\"@z.test", "\"x:y\"@z.test")]
    public void TryParseMailbox_strips_a_source_route(string path, string expected)
    {
        Assert.True(PathParser.TryParseMailbox(path, out var mailbox, out _));

        Assert.Equal(expected, mailbox);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a")]
    [InlineData("postmaster")]
    [InlineData("@b.test")]
    [InlineData("a@")]
    [InlineData("a@b@c.test")]
    [InlineData("a..b@x.test")]
    [InlineData(".a@x.test")]
    [InlineData("a.@x.test")]
    [InlineData("a b@x.test")]
    [InlineData("a\"b@x.test")]
    [InlineData("a(b)@x.test")]
    [InlineData("a,b@x.test")]
    [InlineData("a\u0001@x.test")]
    [InlineData("\uFFFD@x.test")]
    [InlineData("a\u00A0b@x.test")]
    [InlineData("\"a\"b\"@x.test")]
    [InlineData("\"a\\\"@x.test")]
    [InlineData("\"a\"x@x.test")]
    [InlineData("\"a\u0007\"@x.test")]
    [InlineData("\"a\\\u00E9\"@x.test")]
    [InlineData("\"@x.test")]
    [InlineData("a@x.test.")]
    [InlineData("a@.x.test")]
    [InlineData("a@x..test")]
    [InlineData("a@-x.test")]
    [InlineData("a@x-.test")]
    [InlineData("a@x.-test")]
    [InlineData("a@x_y.test")]
    [InlineData("a@x y.test")]
    [InlineData("a@x.test ")]
    [InlineData("a@x\u00A0.test")]
    [InlineData("a@[192.0.2]")]
    [InlineData("a@[192.0.2.256]")]
    [InlineData("a@[192.0.2.1.5]")]
    [InlineData("a@192.0.2.1]")]
    [InlineData("a@[192.0.2.1")]
    [InlineData("a@[::1]")]
    [InlineData("a@[IPv6:192.0.2.1]")]
    [InlineData("a@[IPv6:::1")]
    [InlineData("a@[IPv6:1:2:3:4:5:6:7:8:9]")]
    [InlineData("a@[IPv4:192.0.2.1]")]
    [InlineData("a@[]")]
    [InlineData("a@[IPv6:fe80::1%eth0]")]
    [InlineData("a@[IPv6:fe80::1%1]")]
    [InlineData("a@[IPv6:[::1]]")]
    [InlineData("a@[0x7f.0.0.1]")]
    [InlineData("a@[010.0.0.1]")]
    [InlineData("a@[1.2.3.04]")]
    [InlineData("a@[256.0.0.1]")]
    [InlineData("a@[1.2.3.-4]")]
    [InlineData("a@[+1.2.3.4]")]
    [InlineData("a@[1.2.3.4.]")]
    [InlineData("a@[127.0.0.0x1]")]
    [InlineData("a@[ 127.0.0.1]")]
    [InlineData("a@[127.0.0.1 ]")]
    [InlineData("@a.test")]
    [InlineData("@a.test,@b.test")]
    public void TryParseMailbox_rejects_bad_addresses(string address)
    {
        Assert.False(PathParser.TryParseMailbox(address, out _, out var error));

        Assert.Equal("Bad address syntax", error);
    }

    [Theory]
    [InlineData(64, true)]
    [InlineData(65, false)]
    public void TryParseMailbox_limits_the_local_part_to_64_octets(int length, bool valid)
    {
        var ascii = new string('l', length) + "@x.test";
        var utf8 = new string('ü', length / 2) + new string('l', length % 2) + "@x.test";

        Assert.Equal(valid, PathParser.TryParseMailbox(ascii, out _, out var asciiError));
        Assert.Equal(valid, PathParser.TryParseMailbox(utf8, out _, out var utf8Error));
        if (!valid)
        {
            Assert.Equal("Address too long", asciiError);
            Assert.Equal("Address too long", utf8Error);
        }
    }

    [Theory]
    [InlineData(254, true)]
    [InlineData(255, false)]
    public void TryParseMailbox_limits_the_path_with_its_angle_brackets_to_256_octets(int length, bool valid)
    {
        var address = "local@" + Domain(length - "local@".Length, 'd');

        Assert.Equal(valid, PathParser.TryParseMailbox(address, out _, out var error));
        if (!valid)
            Assert.Equal("Address too long", error);
    }

    [Theory]
    [InlineData(254, true)]
    [InlineData(255, false)]
    public void TryParseMailbox_counts_the_path_in_octets(int octets, bool valid)
    {
        // "é" is two octets in UTF-8: the address has one character fewer than it has octets.
        var address = "l@é." + Domain(octets - "l@é.".Length - 1, 'd');

        Assert.Equal(valid, PathParser.TryParseMailbox(address, out _, out var error));
        if (!valid)
            Assert.Equal("Address too long", error);
    }

    [Fact]
    public void TryParseMailbox_rejects_a_long_domain_and_a_label_over_63()
    {
        Assert.True(PathParser.IsDomain(new string('d', 63) + ".test"));
        Assert.False(PathParser.IsDomain(new string('d', 64) + ".test"));
        Assert.False(PathParser.TryParseMailbox("l@" + Domain(256, 'd'), out _, out var error));
        Assert.Equal("Address too long", error);
    }

    [Theory]
    [InlineData("", true, "")]
    [InlineData("abc", true, "abc")]
    [InlineData("+2B", true, "+")]
    [InlineData("a+3Db", true, "a=b")]
    [InlineData("+41+42", true, "AB")]
    [InlineData("rfc822;a@b.test", true, "rfc822;a@b.test")]
    [InlineData("!~", true, "!~")]
    [InlineData("+2b", false, "")]
    [InlineData("+a0", false, "")]
    [InlineData("+G0", false, "")]
    [InlineData("=", false, "")]
    [InlineData("a=b", false, "")]
    [InlineData("+", false, "")]
    [InlineData("+2", false, "")]
    [InlineData("a+2", false, "")]
    [InlineData("a b", false, "")]
    [InlineData("a\u007F", false, "")]
    [InlineData("\u00E9", false, "")]
    public void TryDecodeXtext_decodes_hex_escapes_and_rejects_the_rest(string xtext, bool valid, string value)
    {
        Assert.Equal(valid, PathParser.TryDecodeXtext(xtext, out var actual));

        Assert.Equal(value, actual);
    }

    [Theory]
    [InlineData("NEVER", DsnNotify.Never)]
    [InlineData("never", DsnNotify.Never)]
    [InlineData("SUCCESS", DsnNotify.Success)]
    [InlineData("FAILURE", DsnNotify.Failure)]
    [InlineData("DELAY", DsnNotify.Delay)]
    [InlineData("SUCCESS,FAILURE", DsnNotify.Success | DsnNotify.Failure)]
    [InlineData("DELAY,Success", DsnNotify.Success | DsnNotify.Delay)]
    [InlineData("FAILURE,DELAY", DsnNotify.Failure | DsnNotify.Delay)]
    [InlineData("SUCCESS,FAILURE,DELAY", DsnNotify.Success | DsnNotify.Failure | DsnNotify.Delay)]
    public void TryParseNotify_accepts_never_alone_or_a_list_of_conditions(string value, DsnNotify expected)
    {
        Assert.True(PathParser.TryParseNotify(value, out var notify));

        Assert.Equal(expected, notify);
    }

    [Theory]
    [InlineData("")]
    [InlineData("NEVER,SUCCESS")]
    [InlineData("FAILURE,NEVER")]
    [InlineData("NEVER,NEVER")]
    [InlineData("SUCCESS,SUCCESS")]
    [InlineData("SUCCESS,FAILURE,SUCCESS")]
    [InlineData("SUCCES")]
    [InlineData("ALWAYS")]
    [InlineData("SUCCESS,")]
    [InlineData(",SUCCESS")]
    [InlineData("SUCCESS, FAILURE")]
    [InlineData("SUCCESS;FAILURE")]
    public void TryParseNotify_rejects_bad_lists(string value) =>
        Assert.False(PathParser.TryParseNotify(value, out _));

    [Theory]
    [InlineData("rfc822;a+40b", "rfc822;a@b")]
    [InlineData("rfc822;c@d.test", "rfc822;c@d.test")]
    [InlineData("rfc822;a+2Bb@c.test", "rfc822;a+b@c.test")]
    [InlineData("utf-8;a@b.test", "utf-8;a@b.test")]
    public void TryParseOrcpt_decodes_the_address(string value, string expected)
    {
        Assert.True(PathParser.TryParseOrcpt(value, out var orcpt));

        Assert.Equal(expected, orcpt);
    }

    [Theory]
    [InlineData("rfc822")]
    [InlineData(";a@b.test")]
    [InlineData("rfc822;")]
    [InlineData("rfc 822;a@b.test")]
    [InlineData("rfc_822;a@b.test")]
    [InlineData("rfc822;a+4")]
    [InlineData("rfc822;a+4g")]
    [InlineData("rfc822;a b")]
    [InlineData("rfc822;a=b")]
    public void TryParseOrcpt_rejects_bad_values(string value) =>
        Assert.False(PathParser.TryParseOrcpt(value, out _));

    [Theory]
    [InlineData(500, true)]
    [InlineData(501, false)]
    public void TryParseOrcpt_limits_the_decoded_address_to_500_characters(int length, bool valid) =>
        Assert.Equal(valid, PathParser.TryParseOrcpt("rfc822;" + new string('a', length), out _));

    [Theory]
    [InlineData("ok", "ok")]
    [InlineData("bad\r\nline", "bad??line")]
    [InlineData("ünï", "?n?")]
    public void Sanitize_keeps_printable_ascii_only(string text, string expected) =>
        Assert.Equal(expected, PathParser.Sanitize(text));

    [Fact]
    public void Sanitize_bounds_the_length() =>
        Assert.Equal(64, PathParser.Sanitize(new string('x', 1000)).Length);

    /// <summary>A syntactically valid domain of exactly <paramref name="length"/> characters (labels of up to 63).</summary>
    private static string Domain(int length, char letter)
    {
        var labels = new List<string>();
        var left = length;
        while (left > 63)
        {
            var take = left == 64 ? 62 : 63; // never leave an empty last label
            labels.Add(new string(letter, take));
            left -= take + 1;
        }
        labels.Add(new string(letter, left));
        return string.Join('.', labels);
    }
}
