using System.Net;

namespace Hermod.Dns.Tests;

public class DnsResolverExtensionsTests
{
    /// <summary>Answers from a table; anything else is NXDOMAIN.</summary>
    private sealed class TableResolver : IDnsResolver
    {
        public Dictionary<(string, DnsRecordType), DnsAnswer> Answers { get; } = [];

        public List<(string, DnsRecordType)> Asked { get; } = [];

        public Task<DnsAnswer> QueryAsync(string name, DnsRecordType type, CancellationToken cancellationToken = default)
        {
            lock (Asked)
                Asked.Add((name, type));
            return Task.FromResult(Answers.TryGetValue((name, type), out var answer) ? answer : new DnsAnswer(DnsStatus.NxDomain, [], false));
        }
    }

    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(5);

    private static DnsAnswer Status(DnsStatus status) => new(status, [], false);

    private static DnsAnswer Addresses(params string[] addresses) =>
        new(DnsStatus.Ok, [.. addresses.Select(a => new AddressRecord("h.test", Ttl, IPAddress.Parse(a)))], true);

    [Fact]
    public async Task Mx_records_are_sorted_by_preference_keeping_ties_in_order()
    {
        var resolver = new TableResolver();
        resolver.Answers[("example.test", DnsRecordType.MX)] = new DnsAnswer(DnsStatus.Ok,
            [new MxRecord("example.test", Ttl, 20, "c"), new MxRecord("example.test", Ttl, 10, "b"), new MxRecord("example.test", Ttl, 20, "a")], true);

        var result = await resolver.ResolveMxAsync("example.test");

        Assert.Equal(["b", "c", "a"], result.Records.Select(r => r.Exchange));
        Assert.True(result.Authenticated);
    }

    [Theory]
    [InlineData(DnsStatus.Ok, DnsStatus.Ok, DnsStatus.Ok, 3)]
    [InlineData(DnsStatus.Ok, DnsStatus.NoData, DnsStatus.Ok, 2)]
    [InlineData(DnsStatus.NoData, DnsStatus.Ok, DnsStatus.Ok, 1)]
    [InlineData(DnsStatus.Ok, DnsStatus.Timeout, DnsStatus.Ok, 2)]
    [InlineData(DnsStatus.NoData, DnsStatus.Timeout, DnsStatus.Timeout, 0)]
    [InlineData(DnsStatus.ServerFailure, DnsStatus.NoData, DnsStatus.ServerFailure, 0)]
    [InlineData(DnsStatus.NxDomain, DnsStatus.NxDomain, DnsStatus.NxDomain, 0)]
    [InlineData(DnsStatus.NoData, DnsStatus.NxDomain, DnsStatus.NxDomain, 0)]
    [InlineData(DnsStatus.NoData, DnsStatus.NoData, DnsStatus.NoData, 0)]
    public async Task Addresses_merge_a_and_aaaa(DnsStatus a, DnsStatus aaaa, DnsStatus expected, int count)
    {
        var resolver = new TableResolver();
        resolver.Answers[("h.test", DnsRecordType.A)] = a == DnsStatus.Ok ? Addresses("192.0.2.1", "192.0.2.2") : Status(a);
        resolver.Answers[("h.test", DnsRecordType.AAAA)] = aaaa == DnsStatus.Ok ? Addresses("2001:db8::1") : Status(aaaa);

        var result = await resolver.ResolveAddressesAsync("h.test");

        Assert.Equal(expected, result.Status);
        Assert.Equal(count, result.Records.Count);
        if (count == 3)
        {
            Assert.Equal("192.0.2.1", result.Records[0].ToString());
            Assert.Equal("2001:db8::1", result.Records[2].ToString());
        }
    }

    [Fact]
    public async Task Txt_records_come_back_as_text()
    {
        var resolver = new TableResolver();
        resolver.Answers[("example.test", DnsRecordType.TXT)] = new DnsAnswer(DnsStatus.Ok,
            [new TxtRecord("example.test", Ttl, ["v=spf1 "u8.ToArray(), "-all"u8.ToArray()])], false);

        var result = await resolver.ResolveTxtAsync("example.test");

        Assert.Equal(["v=spf1 -all"], result.Records);
    }

    [Fact]
    public async Task Ptr_asks_the_reverse_name()
    {
        var resolver = new TableResolver();
        resolver.Answers[("2.0.0.127.in-addr.arpa", DnsRecordType.PTR)] = new DnsAnswer(DnsStatus.Ok,
            [new PtrRecord("2.0.0.127.in-addr.arpa", Ttl, "mx1.example.test")], false);

        var result = await resolver.ResolvePtrAsync(IPAddress.Parse("127.0.0.2"));

        Assert.Equal(["mx1.example.test"], result.Records);
        Assert.Equal(DnsStatus.NxDomain, (await resolver.ResolvePtrAsync(IPAddress.Parse("127.0.0.9"))).Status);
    }

    [Fact]
    public void Answer_of_filters_by_kind()
    {
        var answer = new DnsAnswer(DnsStatus.Ok,
            [new AddressRecord("h.test", Ttl, IPAddress.Loopback), new CnameRecord("x.test", Ttl, "h.test")], false);

        Assert.Single(answer.Of<AddressRecord>());
        Assert.Single(answer.Of<CnameRecord>());
        Assert.Empty(answer.Of<MxRecord>());
    }
}
