using System.Net;
using Hermod.Policy.Spf;

namespace Hermod.Policy.Tests.Spf;

public sealed class SpfMacroTests
{
    private static SpfMacroContext Context(string ip = "192.0.2.3") => new()
    {
        Sender = "strong-bad@email.example.com",
        Domain = "email.example.com",
        Ip = IPAddress.Parse(ip),
        Helo = "mx.example.org",
        ValidatedDomain = "mx.example.org",
        ReceiverDomain = "receiver.example.net",
        Now = DateTimeOffset.FromUnixTimeSeconds(1700000000),
    };

    private static string Expand(string text, bool explanation = false, string ip = "192.0.2.3")
    {
        Assert.True(SpfMacro.TryExpand(text, Context(ip), explanation, out var expanded, out var error), error);
        return expanded;
    }

    // RFC 7208 section 7.4, first table.
    [Theory]
    [InlineData("%{s}", "strong-bad@email.example.com")]
    [InlineData("%{o}", "email.example.com")]
    [InlineData("%{d}", "email.example.com")]
    [InlineData("%{d4}", "email.example.com")]
    [InlineData("%{d3}", "email.example.com")]
    [InlineData("%{d2}", "example.com")]
    [InlineData("%{d1}", "com")]
    [InlineData("%{dr}", "com.example.email")]
    [InlineData("%{d2r}", "example.email")]
    [InlineData("%{l}", "strong-bad")]
    [InlineData("%{l-}", "strong.bad")]
    [InlineData("%{lr}", "strong-bad")]
    [InlineData("%{lr-}", "bad.strong")]
    [InlineData("%{l1r-}", "strong")]
    public void Rfc7208Section74Letters(string macro, string expected) => Assert.Equal(expected, Expand(macro));

    // RFC 7208 section 7.4, second table.
    [Theory]
    [InlineData("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com")]
    [InlineData("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com")]
    [InlineData("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com")]
    [InlineData("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com")]
    [InlineData("%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net")]
    public void Rfc7208Section74Strings(string macro, string expected) => Assert.Equal(expected, Expand(macro));

    [Fact]
    public void Rfc7208Section74Ipv6() =>
        Assert.Equal("1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com",
            Expand("%{ir}.%{v}._spf.%{d2}", ip: "2001:db8::cb01"));

    [Theory]
    [InlineData("%%", "%")]
    [InlineData("%_", " ")]
    [InlineData("%-", "%20")]
    [InlineData("a%%b%_c%-d", "a%b c%20d")]
    [InlineData("%{S}", "strong-bad%40email.example.com")]
    [InlineData("%{L}", "strong-bad")]
    [InlineData("%{h}", "mx.example.org")]
    [InlineData("%{p}", "mx.example.org")]
    [InlineData("%{d99}", "email.example.com")]
    [InlineData("%{d0000000000000000000001}", "com")]
    [InlineData("%{l-=}", "strong.bad")]
    [InlineData("%{l1r-+,/_=.}", "strong")]
    [InlineData("%{i2r}", "0.192")]
    public void LiteralsTransformersAndUrlEncoding(string macro, string expected) => Assert.Equal(expected, Expand(macro));

    [Fact]
    public void ExplanationLettersOnlyInExplanations()
    {
        Assert.Equal("192.0.2.3 receiver.example.net 1700000000", Expand("%{c} %{r} %{t}", explanation: true));
        Assert.Equal("2001:db8::cb01 ip6", Expand("%{c} %{v}", explanation: true, ip: "2001:db8::cb01"));
        foreach (var letter in new[] { "c", "r", "t" })
        {
            Assert.False(SpfMacro.IsValid($"%{{{letter}}}.example.com", explanation: false));
            Assert.True(SpfMacro.IsValid($"%{{{letter}}}.example.com", explanation: true));
        }
    }

    [Theory]
    [InlineData("%")]
    [InlineData("foo%")]
    [InlineData("%x")]
    [InlineData("%{")]
    [InlineData("%{d")]
    [InlineData("%{}")]
    [InlineData("%{x}")]
    [InlineData("%{d0}")]
    [InlineData("%{d2rr}")]
    [InlineData("%{ir2}")] // digits come before r
    [InlineData("%{d:}")]
    [InlineData("a b")]
    [InlineData("caf\u00e9")]
    public void SyntaxErrors(string text)
    {
        Assert.False(SpfMacro.IsValid(text, explanation: false));
        Assert.False(SpfMacro.TryExpand(text, Context(), explanation: false, out _, out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void SpacesAreLiteralInExplanationsOnly()
    {
        Assert.True(SpfMacro.IsValid("see %{d} now", explanation: true));
        Assert.False(SpfMacro.IsValid("see %{d} now", explanation: false));
    }

    [Fact]
    public void LongDomainsLoseLabelsFromTheLeft()
    {
        var spec = string.Join('.', Enumerable.Repeat("%{l}", 20)) + ".example.com"; // 20 * 11 + 12 = 232 chars before %{d}
        Assert.True(SpfMacro.TryExpandDomain(spec + ".%{d}", Context(), out var domain, out _));
        Assert.True(domain.Length <= 253, domain);
        Assert.EndsWith(".example.com.email.example.com", domain);
        Assert.StartsWith("strong-bad.", domain);
    }

    [Fact]
    public void UsesFindsLettersInEitherCaseButNotEscapedOnes()
    {
        Assert.True(SpfMacro.Uses("x.%{P}.example", 'p'));
        Assert.True(SpfMacro.Uses("%{p2r}", 'p'));
        Assert.False(SpfMacro.Uses("%%{p}", 'p'));
        Assert.False(SpfMacro.Uses("%{d}", 'p'));
    }
}
