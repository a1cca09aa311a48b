using System.Net;

namespace Hermod.Dns.Tests;

public class DnsNamesTests
{
    [Theory]
    [InlineData("192.0.2.1", null, "1.2.0.192.in-addr.arpa")]
    [InlineData("::ffff:192.0.2.1", null, "1.2.0.192.in-addr.arpa")]
    [InlineData("192.0.2.1", "zen.example", "1.2.0.192.zen.example")]
    [InlineData("2001:db8::567:89ab", null, "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")]
    public void Reverse_names(string address, string? zone, string expected) =>
        Assert.Equal(expected, DnsNames.Reverse(IPAddress.Parse(address), zone));
}
