using System.Net;
using Hermod.Dns;
using Hermod.Policy.Spf;

namespace Hermod.Policy.Tests.Spf;

public sealed class SpfEvaluatorTests
{
    private static readonly IPAddress Client = IPAddress.Parse("192.0.2.10");

    private static Task<SpfResult> CheckAsync(FakeSpfDns dns, string sender = "user@example.com", IPAddress? ip = null, SpfOptions? options = null) =>
        new SpfEvaluator(dns, options ?? new SpfOptions()).CheckMailFromAsync(ip ?? Client, sender, "helo.example.net");

    [Fact]
    public async Task TimeoutOrServfailOfTheRecordIsTempErrorAndNxdomainIsNone()
    {
        Assert.Equal(SpfResultCode.TempError, (await CheckAsync(new FakeSpfDns().Timeout("example.com"))).Result);
        Assert.Equal(SpfResultCode.None, (await CheckAsync(new FakeSpfDns())).Result);
        Assert.Equal(SpfResultCode.None, (await CheckAsync(new FakeSpfDns().Txt("example.com", "not spf"))).Result);
    }

    [Fact]
    public async Task DnsFailureInAMechanismIsTempError()
    {
        var result = await CheckAsync(new FakeSpfDns().Txt("example.com", "v=spf1 a:error.example.org -all"));
        Assert.Equal(SpfResultCode.TempError, result.Result);
        Assert.Equal("a:error.example.org", result.Mechanism);
    }

    [Fact]
    public async Task FailedPtrLookupMeansNoMatchNotTempError()
    {
        // RFC 7208 section 5.5: "If a DNS error occurs while doing the PTR RR lookup, then this mechanism fails to match."
        var dns = new FakeSpfDns().Txt("example.com", "v=spf1 ptr ?all").Timeout(DnsNames.Reverse(Client));
        Assert.Equal(SpfResultCode.Neutral, (await CheckAsync(dns)).Result);
    }

    [Fact]
    public async Task MoreThanTenMxNamesIsPermError()
    {
        var dns = new FakeSpfDns().Txt("example.com", "v=spf1 mx -all");
        for (var i = 1; i <= 11; i++)
            dns.Mx("example.com", i, $"mx{i}.example.com").A($"mx{i}.example.com", i == 11 ? "192.0.2.10" : $"198.51.100.{i}");
        Assert.Equal(SpfResultCode.PermError, (await CheckAsync(dns)).Result);

        var ten = new FakeSpfDns().Txt("example.com", "v=spf1 mx -all");
        for (var i = 1; i <= 10; i++)
            ten.Mx("example.com", i, $"mx{i}.example.com").A($"mx{i}.example.com", i == 10 ? "192.0.2.10" : $"198.51.100.{i}");
        Assert.Equal(SpfResultCode.Pass, (await CheckAsync(ten)).Result);
    }

    [Fact]
    public async Task OnlyTheFirstTenPtrNamesAreValidated()
    {
        var reverse = DnsNames.Reverse(Client);
        var dns = new FakeSpfDns().Txt("example.com", "v=spf1 ptr -all");
        for (var i = 1; i <= 11; i++)
            dns.Ptr(reverse, $"host{i}.example.com").A($"host{i}.example.com", i == 11 ? "192.0.2.10" : "198.51.100.1");
        Assert.Equal(SpfResultCode.Fail, (await CheckAsync(dns)).Result);
        Assert.DoesNotContain(dns.Queries, q => q.Name == "host11.example.com");
    }

    [Fact]
    public async Task LookupsAreCountedAndTheEleventhIsPermError()
    {
        var dns = new FakeSpfDns().Txt("example.com", "v=spf1 include:a.example.com ip4:192.0.2.10 -all")
            .Txt("a.example.com", "v=spf1 " + string.Join(' ', Enumerable.Repeat("a:host.example.com", 9)) + " -all")
            .A("host.example.com", "198.51.100.1");
        var result = await CheckAsync(dns);
        Assert.Equal((SpfResultCode.Pass, 10), (result.Result, result.DnsLookups));

        var dns2 = new FakeSpfDns().Txt("example.com", "v=spf1 include:a.example.com ip4:192.0.2.10 -all")
            .Txt("a.example.com", "v=spf1 " + string.Join(' ', Enumerable.Repeat("a:host.example.com", 10)) + " -all")
            .A("host.example.com", "198.51.100.1");
        var over = await CheckAsync(dns2);
        Assert.Equal(SpfResultCode.PermError, over.Result);
        Assert.Equal("include:a.example.com", over.Mechanism);
        Assert.Equal(11, over.DnsLookups);
    }

    [Fact]
    public async Task IpMechanismsDoNotCountLookups()
    {
        var dns = new FakeSpfDns().Txt("example.com", "v=spf1 " + string.Join(' ', Enumerable.Range(1, 30).Select(i => $"ip4:198.51.100.{i}")) + " ip4:192.0.2.10 -all");
        var result = await CheckAsync(dns);
        Assert.Equal((SpfResultCode.Pass, 0), (result.Result, result.DnsLookups));
    }

    [Fact]
    public async Task Ipv4MappedClientsAreIpv4()
    {
        var dns = new FakeSpfDns().Txt("example.com", "v=spf1 a -all").A("example.com", "192.0.2.10", "2001:db8::10");
        var result = await CheckAsync(dns, ip: IPAddress.Parse("::ffff:192.0.2.10"));
        Assert.Equal(SpfResultCode.Pass, result.Result);
        Assert.Equal(Client, result.Ip);
        Assert.DoesNotContain(dns.Queries, q => q.Type == DnsRecordType.AAAA);
        Assert.Equal(SpfResultCode.Pass, (await CheckAsync(dns, ip: IPAddress.Parse("2001:db8::10"))).Result);
    }

    [Fact]
    public async Task ValidatedDomainMacro()
    {
        var dns = new FakeSpfDns().Txt("example.com", "v=spf1 exists:%{p}.allowed.example.org -all")
            .Ptr(DnsNames.Reverse(Client), "other.example.net").Ptr(DnsNames.Reverse(Client), "mail.example.com")
            .A("other.example.net", "192.0.2.10").A("mail.example.com", "192.0.2.10")
            .A("mail.example.com.allowed.example.org", "127.0.0.2");
        Assert.Equal(SpfResultCode.Pass, (await CheckAsync(dns)).Result);
    }

    [Fact]
    public async Task ExplanationComesFromTheDecidingRecordButNeverFromAnInclude()
    {
        var dns = new FakeSpfDns()
            .Txt("example.com", "v=spf1 include:inc.example.com redirect=red.example.com exp=top.example.com")
            .Txt("inc.example.com", "v=spf1 -all exp=inc-exp.example.com")
            .Txt("inc-exp.example.com", "from the include")
            .Txt("red.example.com", "v=spf1 -all exp=red-exp.example.com")
            .Txt("red-exp.example.com", "%{i} may not send for %{o} (%{d})")
            .Txt("top.example.com", "from the top");
        var result = await CheckAsync(dns);
        Assert.Equal(SpfResultCode.Fail, result.Result);
        Assert.Equal("192.0.2.10 may not send for example.com (red.example.com)", result.Explanation);
        Assert.Equal("-all", result.Mechanism);
    }

    [Fact]
    public async Task HeadersAndAuthenticationResults()
    {
        var dns = new FakeSpfDns().Txt("example.org", "v=spf1 ip4:192.0.2.0/24 -all");
        var result = await CheckAsync(dns, sender: "a@example.org");
        Assert.Equal("spf=pass smtp.mailfrom=example.org", result.AuthenticationResultsFragment());
        Assert.Equal("pass (mx.example.net: domain of a@example.org designates 192.0.2.10 as permitted sender) client-ip=192.0.2.10; "
            + "envelope-from=\"a@example.org\"; helo=helo.example.net; receiver=mx.example.net; identity=mailfrom;", result.ReceivedSpf("mx.example.net"));

        var helo = await new SpfEvaluator(new FakeSpfDns().Txt("helo.example.org", "v=spf1 -all"), new SpfOptions())
            .CheckMailFromAsync(Client, "", "helo.example.org");
        Assert.Equal("spf=fail smtp.helo=helo.example.org", helo.AuthenticationResultsFragment());
        Assert.Equal("postmaster@helo.example.org", helo.Sender);
    }

    [Fact]
    public async Task TheWholeCheckIsTimeLimited()
    {
        var evaluator = new SpfEvaluator(new HangingDns(), new SpfOptions { Timeout = TimeSpan.FromMilliseconds(100) });
        var result = await evaluator.CheckHostAsync(Client, "example.com", "a@example.com", "helo.example.net", CancellationToken.None);
        Assert.Equal(SpfResultCode.TempError, result.Result);

        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        var slow = new SpfEvaluator(new HangingDns(), new SpfOptions());
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => slow.CheckHostAsync(Client, "example.com", "a@example.com", "h", cancel.Token));
    }

    [Theory]
    [InlineData("a@localhost")]
    [InlineData("a@foo..example.com")]
    [InlineData("a@[192.0.2.1]x")]
    public async Task InvalidDomainsAreNoneWithoutLookups(string sender)
    {
        var dns = new FakeSpfDns();
        Assert.Equal(SpfResultCode.None, (await CheckAsync(dns, sender)).Result);
        Assert.Empty(dns.Queries);
    }

    private sealed class HangingDns : IDnsResolver
    {
        public async Task<DnsAnswer> QueryAsync(string name, DnsRecordType type, CancellationToken cancellationToken = default)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }
    }
}
