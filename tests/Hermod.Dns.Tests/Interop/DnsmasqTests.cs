using System.Net;
using System.Net.Sockets;
using Hermod.Dns.Protocol;

namespace Hermod.Dns.Tests.Interop;

/// <summary>The resolver against a real dnsmasq.</summary>
public class DnsmasqTests(DnsmasqFixture dnsmasq) : IClassFixture<DnsmasqFixture>
{
    private StubResolver Resolver() => new(new DnsOptions { Servers = [dnsmasq.EndPoint], Timeout = TimeSpan.FromSeconds(2) });

    [Fact]
    public async Task Mx_records_with_preferences()
    {
        using var resolver = Resolver();

        var result = await resolver.ResolveMxAsync("example.test");

        Assert.Equal(DnsStatus.Ok, result.Status);
        Assert.Equal([(10, "mx1.example.test"), (20, "mx2.example.test")], result.Records.Select(r => ((int)r.Preference, r.Exchange)));
        Assert.All(result.Records, r => Assert.Equal("example.test", r.Name));
    }

    [Fact]
    public async Task A_and_aaaa()
    {
        using var resolver = Resolver();

        var mx1 = await resolver.QueryAsync("mx1.example.test", DnsRecordType.A);
        var mx2 = await resolver.ResolveAddressesAsync("mx2.example.test");
        var mx1v6 = await resolver.QueryAsync("mx1.example.test", DnsRecordType.AAAA);

        Assert.Equal(IPAddress.Parse("127.0.0.2"), Assert.Single(mx1.Of<AddressRecord>()).Address);
        Assert.Equal(DnsStatus.Ok, mx2.Status);
        Assert.Equal([IPAddress.Parse("127.0.0.3"), IPAddress.IPv6Loopback], mx2.Records);
        Assert.Equal(DnsStatus.NoData, mx1v6.Status);
    }

    [Fact]
    public async Task Txt_record()
    {
        using var resolver = Resolver();

        var result = await resolver.ResolveTxtAsync("example.test");

        Assert.Equal(DnsStatus.Ok, result.Status);
        Assert.Equal(["v=spf1 -all"], result.Records);
    }

    [Fact]
    public async Task Big_txt_record_comes_over_tcp_after_a_truncated_udp_answer()
    {
        Assert.True(DnsQuestion.TryCreate("big.example.test", DnsRecordType.TXT, out var question));
        using (var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            // dnsmasq really truncates over UDP at our advertised 1232 octets...
            await udp.ConnectAsync(dnsmasq.EndPoint);
            await udp.SendAsync(DnsMessage.EncodeQuery(0x7777, question));
            var buffer = new byte[65535];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var received = await udp.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            Assert.True(DnsMessage.Decode(buffer.AsSpan(0, received), 0x7777, question).Truncated);
        }
        using var resolver = Resolver();

        // ...and the resolver gets the whole record over TCP.
        var result = await resolver.QueryAsync("big.example.test", DnsRecordType.TXT);

        Assert.Equal(DnsStatus.Ok, result.Status);
        var txt = Assert.Single(result.Of<TxtRecord>());
        Assert.Equal(DnsmasqFixture.BigTxt.Length, txt.Strings.Count);
        Assert.Equal(string.Concat(DnsmasqFixture.BigTxt), txt.Text);
    }

    [Fact]
    public async Task Ptr_record()
    {
        using var resolver = Resolver();

        var result = await resolver.ResolvePtrAsync(IPAddress.Parse("127.0.0.2"));

        Assert.Equal(DnsStatus.Ok, result.Status);
        Assert.Equal(["mx1.example.test"], result.Records);
    }

    [Fact]
    public async Task Cname_is_followed_to_the_address()
    {
        using var resolver = Resolver();

        var a = await resolver.QueryAsync("alias.example.test", DnsRecordType.A);
        var cname = await resolver.QueryAsync("alias.example.test", DnsRecordType.CNAME);

        var address = Assert.Single(a.Of<AddressRecord>());
        Assert.Equal("mx1.example.test", address.Name);
        Assert.Equal(IPAddress.Parse("127.0.0.2"), address.Address);
        Assert.Equal("mx1.example.test", Assert.Single(cname.Of<CnameRecord>()).Target);
    }

    [Fact]
    public async Task Unknown_name_in_the_local_domain_is_nxdomain()
    {
        using var resolver = Resolver();

        var answer = await resolver.QueryAsync("nope.example.test", DnsRecordType.A);

        Assert.Equal(DnsStatus.NxDomain, answer.Status);
        Assert.Empty(answer.Records);
    }

    [Fact]
    public async Task Name_outside_its_domains_is_refused_without_an_upstream()
    {
        using var resolver = Resolver();

        var answer = await resolver.QueryAsync("unknown.other", DnsRecordType.A);

        Assert.Equal(DnsStatus.Refused, answer.Status);
    }
}
