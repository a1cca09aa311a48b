using System.Net;
using Hermod.Dns;
using Hermod.Policy.Checks;
using Hermod.TestKit;
using static Hermod.Policy.Tests.Checks.Contexts;

namespace Hermod.Policy.Tests.Checks;

/// <summary>A real dnsmasq serving a blocklist zone (bl.test) and forward / reverse records (fc.test).</summary>
public sealed class DnsChecksFixture : IAsyncLifetime
{
    /// <summary>The blocklist name of 2001:db8::1 under bl.test.</summary>
    public static readonly string ListedV6 = DnsNames.Reverse(IPAddress.Parse("2001:db8::1"), "bl.test");

    private Dnsmasq? _dnsmasq;

    public StubResolver Resolver { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _dnsmasq = await Dnsmasq.StartAsync(
        [
            "--local=/test/",
            "--local=/2.0.192.in-addr.arpa/",
            // blocklist: 127.0.0.2 and 2001:db8::1 are listed; 127.0.0.3 is listed without a reason
            "--host-record=2.0.0.127.bl.test,127.0.0.2",
            "--txt-record=2.0.0.127.bl.test,listed for testing",
            "--host-record=3.0.0.127.bl.test,127.0.0.4",
            $"--host-record={ListedV6},127.0.0.2",
            $"--txt-record={ListedV6},v6 listed",
            "--host-record=2.0.0.127.bl2.test,127.0.0.10",
            "--host-record=5.0.0.127.bl.test,127.255.255.254", // "query refused" code, not a listing
            // fcrdns: .10 matches; .11 points at a name that resolves elsewhere; .12 has no PTR; .13 points outside
            "--host-record=mail.fc.test,192.0.2.10",
            "--ptr-record=11.2.0.192.in-addr.arpa,liar.fc.test",
            "--host-record=liar.fc.test,198.51.100.99",
            "--ptr-record=13.2.0.192.in-addr.arpa,mail.elsewhere.invalid",
            "--host-record=v6.fc.test,2001:db8::10",
        ], "mail.fc.test", DnsRecordType.A);
        Resolver = new StubResolver(new DnsOptions
        {
            Servers = [_dnsmasq.EndPoint],
            Timeout = TimeSpan.FromSeconds(1),
            Attempts = 1,
            MaxCacheEntries = 0,
        });
    }

    public async Task DisposeAsync()
    {
        Resolver?.Dispose();
        if (_dnsmasq is not null)
            await _dnsmasq.DisposeAsync();
    }
}

public sealed class DnsChecksTests(DnsChecksFixture dns) : IClassFixture<DnsChecksFixture>
{
    private DnsblCheck Dnsbl(bool failOpen = true, params string[] zones) =>
        new(dns.Resolver, new DnsblOptions { Zones = zones.Length == 0 ? ["bl.test"] : zones, FailOpen = failOpen });

    private static Task<CheckResult> ConnectAsync(ICheck check, string ip) => check.CheckAsync(CheckStage.Connection, Make(ip: ip), default);

    [Fact]
    public async Task ListedClientIsRejectedWith554AndTheReason()
    {
        var result = await ConnectAsync(Dnsbl(), "127.0.0.2");
        AssertRefused(result, CheckAction.Reject, 554, "5.7.1");
        Assert.Equal("Client host [127.0.0.2] blocked using bl.test; listed for testing", result.Reply!.Text);
    }

    [Fact]
    public async Task ListedClientWithoutTxtIsRejected()
    {
        var result = await ConnectAsync(Dnsbl(), "127.0.0.3");
        AssertRefused(result, CheckAction.Reject, 554, "5.7.1");
        Assert.Equal("Client host [127.0.0.3] blocked using bl.test", result.Reply!.Text);
    }

    [Fact]
    public async Task ListedIpv6ClientIsRejected()
    {
        var result = await ConnectAsync(Dnsbl(), "2001:db8::1");
        AssertRefused(result, CheckAction.Reject, 554, "5.7.1");
        Assert.Equal("Client host [2001:db8::1] blocked using bl.test; v6 listed", result.Reply!.Text);
        Assert.Equal(CheckAction.Accept, (await ConnectAsync(new DnsblCheck(dns.Resolver, new DnsblOptions { Zones = ["bl.test"], Ipv6 = false }), "2001:db8::1")).Action);
    }

    [Fact]
    public async Task UnlistedClientIsAccepted()
    {
        Assert.Equal(CheckAction.Accept, (await ConnectAsync(Dnsbl(), "192.0.2.99")).Action);
        Assert.Equal(CheckAction.Accept, (await ConnectAsync(Dnsbl(), "2001:db8::2")).Action);
        Assert.Equal(CheckAction.Accept, (await ConnectAsync(Dnsbl(), "127.0.0.5")).Action); // 127.255.255.254: an error code
    }

    [Fact]
    public async Task FirstListingZoneInConfigOrderIsReported()
    {
        var result = await ConnectAsync(Dnsbl(true, "bl2.test", "bl.test"), "127.0.0.2");
        Assert.Equal("Client host [127.0.0.2] blocked using bl2.test", result.Reply!.Text);
    }

    [Fact]
    public async Task DnsFailureFailsOpenByDefaultAndClosedWhenConfigured()
    {
        // bl.invalid is not a local zone and dnsmasq has no upstream: the lookup fails (REFUSED)
        Assert.Equal(CheckAction.Accept, (await ConnectAsync(Dnsbl(true, "bl.invalid"), "192.0.2.99")).Action);
        AssertRefused(await ConnectAsync(Dnsbl(false, "bl.invalid"), "192.0.2.99"), CheckAction.TempFail, 451, "4.7.1");
        // a listing still wins over another zone's failure
        AssertRefused(await ConnectAsync(Dnsbl(false, "bl.invalid", "bl.test"), "127.0.0.2"), CheckAction.Reject, 554, "5.7.1");
    }

    [Fact]
    public void DnsblValidatesZones()
    {
        Assert.Contains("zones: must not be empty", new DnsblOptions().Validate());
        Assert.Throws<ArgumentException>(() => new DnsblCheck(dns.Resolver, new DnsblOptions { Zones = ["bad zone"] }));
    }

    private FcrdnsCheck Fcrdns(bool reject = true, bool tempFail = true) =>
        new(dns.Resolver, new FcrdnsOptions { AuthservId = "mx.example.net", RejectOnFail = reject, TempFailOnDnsError = tempFail });

    [Fact]
    public async Task ConfirmedReverseDnsPasses()
    {
        var result = await ConnectAsync(Fcrdns(), "192.0.2.10");
        Assert.Equal(CheckAction.Accept, result.Action);
        Assert.Equal("mx.example.net; iprev=pass policy.iprev=192.0.2.10 (mail.fc.test)", Header(result));
        var v6 = await ConnectAsync(Fcrdns(), "2001:db8::10");
        Assert.Equal("mx.example.net; iprev=pass policy.iprev=\"2001:db8::10\" (v6.fc.test)", Header(v6));
    }

    [Fact]
    public async Task MismatchAndMissingPtrAreRejectedWith550()
    {
        var mismatch = await ConnectAsync(Fcrdns(), "192.0.2.11");
        AssertRefused(mismatch, CheckAction.Reject, 550, "5.7.25");
        Assert.Equal("mx.example.net; iprev=fail policy.iprev=192.0.2.11", Header(mismatch));
        var missing = await ConnectAsync(Fcrdns(), "192.0.2.12");
        AssertRefused(missing, CheckAction.Reject, 550, "5.7.25");
        Assert.Equal("mx.example.net; iprev=permerror policy.iprev=192.0.2.12", Header(missing));
    }

    [Fact]
    public async Task DnsFailureTempFailsWith451()
    {
        var forward = await ConnectAsync(Fcrdns(), "192.0.2.13"); // PTR fine, forward lookup refused
        AssertRefused(forward, CheckAction.TempFail, 451, "4.7.25");
        Assert.Equal("mx.example.net; iprev=temperror policy.iprev=192.0.2.13", Header(forward));
        var reverse = await ConnectAsync(Fcrdns(), "203.0.113.7"); // reverse zone not served
        AssertRefused(reverse, CheckAction.TempFail, 451, "4.7.25");
    }

    [Fact]
    public async Task AnnotateOnlyModeAccepts()
    {
        var check = Fcrdns(reject: false, tempFail: false);
        foreach (var ip in new[] { "192.0.2.11", "192.0.2.12", "192.0.2.13" })
        {
            var result = await ConnectAsync(check, ip);
            Assert.Equal(CheckAction.Accept, result.Action);
            Assert.StartsWith("mx.example.net; iprev=", Header(result), StringComparison.Ordinal);
        }
    }
}
