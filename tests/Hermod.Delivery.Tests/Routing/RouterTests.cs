using System.Net;
using Hermod.Core.Configuration;
using Hermod.Delivery.Configuration;
using Hermod.Delivery.Routing;
using Hermod.Dns;
using Hermod.Hosting.Configuration;
using Hermod.Smtp.Configuration;
using Hermod.TestKit;

namespace Hermod.Delivery.Tests.Routing;

/// <summary>Next-hop choice against a real dnsmasq serving MX, A and null MX records.</summary>
public sealed class RouterTests : IAsyncLifetime
{
    private Dnsmasq _dns = null!;
    private StubResolver _resolver = null!;

    public async Task InitializeAsync()
    {
        _dns = await Dnsmasq.StartAsync(
        [
            "--local=/test/",
            "--mx-host=multi.test,mxa.multi.test,10",
            "--mx-host=multi.test,mxb.multi.test,10",
            "--mx-host=multi.test,mxc.multi.test,20",
            "--host-record=mxa.multi.test,127.0.0.10",
            "--host-record=mxb.multi.test,127.0.0.11",
            "--host-record=mxc.multi.test,127.0.0.12",
            "--mx-host=nullmx.test,.,0",
            "--host-record=aonly.test,127.0.0.20",
            "--mx-host=broken.test,gone.broken.test,10",
            "--host-record=smarthost.test,127.0.0.30",
        ], probe: "multi.test");
        _resolver = new StubResolver(new DnsOptions { Servers = [_dns.EndPoint], Timeout = TimeSpan.FromSeconds(1) });
    }

    public async Task DisposeAsync()
    {
        _resolver.Dispose();
        await _dns.DisposeAsync();
    }

    private Router Router(Action<HermodConfiguration>? configure = null)
    {
        var options = new HermodConfiguration();
        options.Delivery.RemotePort = 2525;
        configure?.Invoke(options);
        return new Router(options.Hermod, options.Delivery, options.Smtp, _resolver);
    }

    [Fact]
    public async Task Mx_hosts_come_by_preference_and_equal_preferences_in_random_order()
    {
        var orders = new HashSet<string>();
        for (var i = 0; i < 30; i++)
        {
            var route = await Router().ResolveAsync("multi.test", default);
            Assert.Null(route.Failure);
            Assert.Equal(3, route.Hops.Count);
            Assert.Equal(new NextHop("mxc.multi.test", IPEndPoint.Parse("127.0.0.12:2525")), route.Hops[2]);
            orders.Add(string.Join(",", route.Hops.Take(2).Select(h => h.Name)));
        }
        Assert.Equal(["mxa.multi.test,mxb.multi.test", "mxb.multi.test,mxa.multi.test"], orders.Order());
    }

    [Fact]
    public async Task A_domain_without_mx_is_its_own_implicit_mx()
    {
        var route = await Router().ResolveAsync("aonly.test", default);
        Assert.Equal([new NextHop("aonly.test", IPEndPoint.Parse("127.0.0.20:2525"))], route.Hops);
    }

    [Fact]
    public async Task Null_mx_and_nxdomain_fail_permanently()
    {
        var nullMx = await Router().ResolveAsync("nullmx.test", default);
        Assert.True(nullMx.Permanent);
        Assert.Equal("5.1.10", nullMx.Failure!.Reply.Enhanced.ToString());
        var missing = await Router().ResolveAsync("nowhere.test", default);
        Assert.True(missing.Permanent);
        Assert.Equal("5.1.2", missing.Failure!.Reply.Enhanced.ToString());
        var noAddress = await Router().ResolveAsync("mx-only-name.multi.test", default);
        Assert.True(noAddress.Permanent);
    }

    [Fact]
    public async Task Mx_hosts_without_addresses_and_dns_failures_are_temporary()
    {
        var broken = await Router().ResolveAsync("broken.test", default);
        Assert.False(broken.Permanent);
        Assert.StartsWith("4.", broken.Failure!.Reply.Enhanced.ToString());

        using var silent = new StubResolver(new DnsOptions { Servers = [IPEndPoint.Parse("127.0.0.1:9")], Timeout = TimeSpan.FromMilliseconds(200), Attempts = 1 });
        var timeout = await new Router(new HermodOptions(), new DeliveryOptions(), new SmtpOptions(), silent).ResolveAsync("multi.test", default);
        Assert.False(timeout.Permanent);
        Assert.Equal("4.4.3", timeout.Failure!.Reply.Enhanced.ToString());
    }

    [Fact]
    public async Task Static_routes_win_over_mx_exact_domain_before_the_wildcard()
    {
        var router = Router(o => o.Delivery.Routes =
        [
            new RouteOptions { Domain = "multi.test", Host = "127.0.0.1", Port = 2600, Tls = OutboundTls.None },
            new RouteOptions { Domain = "*", Host = "smarthost.test", Port = 587, Tls = OutboundTls.Required, User = "relay", Password = "pw" },
        ]);
        var exact = await router.ResolveAsync("MULTI.test", default);
        Assert.Equal([new NextHop("127.0.0.1", IPEndPoint.Parse("127.0.0.1:2600"))], exact.Hops);
        Assert.Equal(OutboundTls.None, exact.Tls);
        var wildcard = await router.ResolveAsync("anything.test", default);
        Assert.Equal([new NextHop("smarthost.test", IPEndPoint.Parse("127.0.0.30:587"))], wildcard.Hops);
        Assert.Equal(OutboundTls.Required, wildcard.Tls);
        Assert.Equal("relay", wildcard.Credentials!.UserName);
    }

    [Fact]
    public async Task An_mx_that_is_this_server_is_a_loop_not_a_hop()
    {
        var loop = await Router(o => o.Smtp.Listeners = [new ListenerOptions { Address = IPEndPoint.Parse("127.0.0.20:2525") }])
            .ResolveAsync("aonly.test", default);
        Assert.Equal("5.4.6", loop.Failure!.Reply.Enhanced.ToString());
        var skipped = await Router(o => o.Smtp.Listeners = [new ListenerOptions { Address = IPEndPoint.Parse("0.0.0.0:2525") }])
            .ResolveAsync("multi.test", default); // every 127.x MX is this host
        Assert.Equal("5.4.6", skipped.Failure!.Reply.Enhanced.ToString());
        var other = await Router(o => o.Smtp.Listeners = [new ListenerOptions { Address = IPEndPoint.Parse("127.0.0.10:2525") }])
            .ResolveAsync("multi.test", default);
        Assert.Equal(["127.0.0.11:2525", "127.0.0.12:2525"], other.Hops.Select(h => h.EndPoint.ToString()).Order());
    }

    [Fact]
    public async Task Mail_for_a_local_domain_without_a_route_is_held()
    {
        var router = Router(o =>
        {
            o.Smtp.LocalDomains = ["multi.test"];
            o.Delivery.Routes = [new RouteOptions { Domain = "*", Host = "127.0.0.1", Port = 2600 }];
        });
        var held = await router.ResolveAsync("multi.test", default);
        Assert.True(held.Held);
        Assert.False(held.Permanent);
        Assert.StartsWith("held: no delivery target for the local domain multi.test", held.Failure!.Reply.Text);
        Assert.StartsWith("held", (await router.ResolveAsync("", default)).Failure!.Reply.Text); // the bare "postmaster"
        var routed = await Router(o =>
        {
            o.Smtp.LocalDomains = ["multi.test"];
            o.Delivery.Routes = [new RouteOptions { Domain = "multi.test", Host = "127.0.0.1", Port = 2600 }];
        }).ResolveAsync("multi.test", default);
        Assert.Equal(2600, Assert.Single(routed.Hops).EndPoint.Port);
    }

    [Fact]
    public async Task An_address_literal_goes_to_that_address()
    {
        var route = await Router().ResolveAsync("[127.0.0.5]", default);
        Assert.Equal([new NextHop("[127.0.0.5]", IPEndPoint.Parse("127.0.0.5:2525"))], route.Hops);
    }
}
