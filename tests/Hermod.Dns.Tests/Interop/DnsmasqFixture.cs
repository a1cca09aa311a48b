using System.Net;
using Hermod.TestKit;

namespace Hermod.Dns.Tests.Interop;

/// <summary>A real dnsmasq serving example.test for one test class (see <see cref="Dnsmasq"/>).</summary>
public sealed class DnsmasqFixture : IAsyncLifetime
{
    /// <summary>Eight 250-octet strings: more than the 1232 octets we accept over UDP, so dnsmasq truncates.</summary>
    public static readonly string[] BigTxt = [.. Enumerable.Range(0, 8).Select(i => new string((char)('a' + i), 250))];

    private Dnsmasq? _dnsmasq;

    public IPEndPoint EndPoint => _dnsmasq!.EndPoint;

    public string Log => _dnsmasq?.Log ?? "";

    public async Task InitializeAsync() => _dnsmasq = await Dnsmasq.StartAsync(
    [
        // Names under example.test that are not configured are NXDOMAIN (not REFUSED: there is no upstream).
        "--local=/example.test/",
        "--mx-host=example.test,mx1.example.test,10",
        "--mx-host=example.test,mx2.example.test,20",
        "--host-record=mx1.example.test,127.0.0.2",
        "--host-record=mx2.example.test,127.0.0.3,::1",
        "--txt-record=example.test,v=spf1 -all",
        $"--txt-record=big.example.test,{string.Join(',', BigTxt)}",
        "--ptr-record=2.0.0.127.in-addr.arpa,mx1.example.test",
        "--cname=alias.example.test,mx1.example.test",
    ], probe: "example.test");

    public async Task DisposeAsync()
    {
        if (_dnsmasq is not null)
            await _dnsmasq.DisposeAsync();
    }
}
