using System.Net;
using Hermod.Policy.Spf;

namespace Hermod.Policy.Tests.Spf;

public sealed class SpfRecordTests
{
    private static SpfRecord Parse(string text)
    {
        Assert.True(SpfRecord.TryParse(text, out var record, out var error), error);
        return record;
    }

    [Fact]
    public void ParsesEveryMechanismQualifierAndCidr()
    {
        var record = Parse("v=spf1 +all -include:_spf.example.com ~a ?a:mail.example.com/24//64 mx//48 mx:%{d}/30 ptr ptr:example.org "
            + "ip4:192.0.2.0/24 ip6:2001:db8::/32 exists:%{ir}.%{l1r+-}._spf.%{d} ip4:192.0.2.1 ip6:2001:db8::1  ");
        var m = record.Mechanisms;
        Assert.Equal(13, m.Count);
        Assert.Equal((SpfQualifier.Pass, SpfMechanismKind.All), (m[0].Qualifier, m[0].Kind));
        Assert.Equal((SpfQualifier.Fail, SpfMechanismKind.Include, "_spf.example.com"), (m[1].Qualifier, m[1].Kind, m[1].DomainSpec));
        Assert.Equal((SpfQualifier.SoftFail, SpfMechanismKind.A, (string?)null, 32, 128), (m[2].Qualifier, m[2].Kind, m[2].DomainSpec, m[2].Ip4Prefix, m[2].Ip6Prefix));
        Assert.Equal((SpfQualifier.Neutral, "mail.example.com", 24, 64), (m[3].Qualifier, m[3].DomainSpec, m[3].Ip4Prefix, m[3].Ip6Prefix));
        Assert.Equal((SpfMechanismKind.Mx, (string?)null, 32, 48), (m[4].Kind, m[4].DomainSpec, m[4].Ip4Prefix, m[4].Ip6Prefix));
        Assert.Equal(("%{d}", 30, 128), (m[5].DomainSpec, m[5].Ip4Prefix, m[5].Ip6Prefix));
        Assert.Equal((SpfMechanismKind.Ptr, (string?)null), (m[6].Kind, m[6].DomainSpec));
        Assert.Equal("example.org", m[7].DomainSpec);
        Assert.Equal((IPAddress.Parse("192.0.2.0"), 24), (m[8].Network, m[8].Ip4Prefix));
        Assert.Equal((IPAddress.Parse("2001:db8::"), 32), (m[9].Network, m[9].Ip6Prefix));
        Assert.Equal("%{ir}.%{l1r+-}._spf.%{d}", m[10].DomainSpec);
        Assert.Equal(32, m[11].Ip4Prefix);
        Assert.Equal(128, m[12].Ip6Prefix);
        Assert.Equal("?a:mail.example.com/24//64", m[3].Text);
    }

    [Fact]
    public void ModifiersAndCaseInsensitivity()
    {
        var record = Parse("V=SPF1 IP4:192.0.2.1 Redirect=_spf.example.com EXP=explain.%{d} x-foo=%{l}bar moo.cow-far_out=man:dog/cat");
        Assert.Equal(SpfMechanismKind.Ip4, Assert.Single(record.Mechanisms).Kind);
        Assert.Equal("_spf.example.com", record.Redirect);
        Assert.Equal("explain.%{d}", record.Explanation);
        Assert.Equal(["x-foo", "moo.cow-far_out"], record.OtherModifiers.Select(m => m.Name));
        Assert.Empty(Parse("v=spf1").Mechanisms);
        Assert.Empty(Parse("v=spf1 ").Mechanisms);
    }

    [Theory]
    [InlineData("v=spf1 -all", true)]
    [InlineData("v=spf1", true)]
    [InlineData("V=SpF1 a", true)]
    [InlineData("v=spf10", false)]
    [InlineData("v=spf1-all", false)]
    [InlineData(" v=spf1 -all", false)]
    [InlineData("spf2.0/pra -all", false)]
    public void RecordSelection(string text, bool spf) => Assert.Equal(spf, SpfRecord.IsSpfRecord(text));

    [Theory]
    [InlineData("v=spf1 foo")] // unknown mechanism
    [InlineData("v=spf1 foo:bar.com")]
    [InlineData("v=spf1 all:x")]
    [InlineData("v=spf1 -all/24")]
    [InlineData("v=spf1 include")]
    [InlineData("v=spf1 include:")]
    [InlineData("v=spf1 exists")]
    [InlineData("v=spf1 a:")]
    [InlineData("v=spf1 a:foo")] // no "." toplabel
    [InlineData("v=spf1 a:foo.1")] // numeric toplabel
    [InlineData("v=spf1 a:foo.-bar")]
    [InlineData("v=spf1 a:foo.bar-")]
    [InlineData("v=spf1 mx:example.com/33")]
    [InlineData("v=spf1 mx//129")]
    [InlineData("v=spf1 a/024")]
    [InlineData("v=spf1 a/")]
    [InlineData("v=spf1 ptr/24")]
    [InlineData("v=spf1 ip4")]
    [InlineData("v=spf1 ip4:")]
    [InlineData("v=spf1 ip4:192.0.2.300")]
    [InlineData("v=spf1 ip4:192.0.2")]
    [InlineData("v=spf1 ip4:192.0.02.1")]
    [InlineData("v=spf1 ip4:192.0.2.1/33")]
    [InlineData("v=spf1 ip4:192.0.2.1//32")]
    [InlineData("v=spf1 ip4:2001:db8::1")]
    [InlineData("v=spf1 ip6:192.0.2.1")]
    [InlineData("v=spf1 ip6:2001:db8::1/129")]
    [InlineData("v=spf1 ip6:2001:db8::1%eth0")]
    [InlineData("v=spf1 ip6:[2001:db8::1]")]
    [InlineData("v=spf1 redirect=a.example.com redirect=b.example.com")]
    [InlineData("v=spf1 exp=a.example.com exp=b.example.com")]
    [InlineData("v=spf1 redirect=")]
    [InlineData("v=spf1 redirect=%{c}.example.com")] // c only in explanations
    [InlineData("v=spf1 exists:%{x}.example.com")]
    [InlineData("v=spf1 exists:%{d0}.example.com")]
    [InlineData("v=spf1 a:%.example.com")]
    [InlineData("v=spf1 x-foo=%")]
    [InlineData("v=spf1 =foo")]
    [InlineData("v=spf1 -")]
    [InlineData("v=spf1 a:foo.example.com\0")]
    [InlineData("v=spf1 a:foo.example.com\t-all")]
    public void SyntaxErrorsArePermErrors(string text)
    {
        Assert.False(SpfRecord.TryParse(text, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Theory]
    [InlineData("v=spf1 a:foo-bar.com")]
    [InlineData("v=spf1 a:foo.1-2")] // toplabel with a dash may be numeric
    [InlineData("v=spf1 a:foo.example.com.")]
    [InlineData("v=spf1 a:%{d}")]
    [InlineData("v=spf1 a:%{d}.%{d}/24")]
    [InlineData("v=spf1 exists:%{i}.%%")]
    [InlineData("v=spf1 ip6:::ffff:192.0.2.1")]
    [InlineData("v=spf1 ip6:::/0 ip4:0.0.0.0/0")]
    [InlineData("v=spf1 a=foo")] // a modifier named "a", ignored
    public void ValidEdgeCases(string text) => Parse(text);
}
