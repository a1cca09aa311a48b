using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Hermod.Dns.Tests.TestKit;
using Microsoft.Extensions.Time.Testing;

namespace Hermod.Dns.Tests;

/// <summary>The resolver against scripted servers on loopback.</summary>
public class StubResolverTests
{
    /// <summary>For tries that are meant to time out; tries meant to succeed get the 2 s default (slow CI machines).</summary>
    private static readonly TimeSpan ShortTimeout = TimeSpan.FromMilliseconds(500);

    private static StubResolver Resolver(TimeProvider? time = null, TimeSpan? timeout = null, int attempts = 2,
        Action<DnsOptions>? configure = null, params FakeDnsServer[] servers)
    {
        var options = new DnsOptions
        {
            Servers = [.. servers.Select(s => s.EndPoint)],
            Timeout = timeout ?? TimeSpan.FromSeconds(2),
            Attempts = attempts,
        };
        configure?.Invoke(options);
        return new StubResolver(options, time ?? TimeProvider.System);
    }

    private static Rr[] MxAnswer =>
        [Rr.Mx("example.test", 20, "mx2.example.test"), Rr.Mx("example.test", 10, "mx1.example.test")];

    [Fact]
    public async Task Answers_from_the_server()
    {
        await using var server = FakeDnsServer.Answering(MxAnswer);
        using var resolver = Resolver(servers: server);

        var result = await resolver.ResolveMxAsync("example.test");

        Assert.Equal(DnsStatus.Ok, result.Status);
        Assert.Equal([(10, "mx1.example.test"), (20, "mx2.example.test")], result.Records.Select(r => ((int)r.Preference, r.Exchange)));
        Assert.Equal(1, server.UdpQueries);
        Assert.Equal(0, server.TcpQueries);
        var query = Assert.Single(server.Queries);
        Assert.Equal(("example.test", DnsRecordType.MX), (query.Name, query.Type));
    }

    [Fact]
    public async Task Queries_use_random_ids_and_source_ports()
    {
        var sources = new List<int>();
        await using var server = new FakeDnsServer(q => [new FakeReply(DnsWire.Response(q, answers: [Rr.A(q.Name, "192.0.2.1", ttl: 0)]))]);
        using var resolver = Resolver(servers: server);

        for (var i = 0; i < 8; i++)
            Assert.Equal(DnsStatus.Ok, (await resolver.QueryAsync("example.test", DnsRecordType.A)).Status);

        Assert.Equal(8, server.UdpQueries); // TTL 0: nothing cached
        Assert.True(server.Queries.Select(q => q.Id).Distinct().Count() > 1, "query ids repeat");
    }

    [Fact]
    public async Task A_reply_with_a_wrong_id_is_ignored_and_the_right_one_taken()
    {
        await using var server = new FakeDnsServer(q =>
        [
            new FakeReply(DnsWire.Response((ushort)(q.Id ^ 0x5555), q.Name, q.Type, answers: [Rr.A(q.Name, "6.6.6.6")])),
            new FakeReply(DnsWire.Response(q, answers: [Rr.A(q.Name, "192.0.2.1")]), DelayMs: 50),
        ]);
        using var resolver = Resolver(servers: server);

        var answer = await resolver.QueryAsync("example.test", DnsRecordType.A);

        Assert.Equal(DnsStatus.Ok, answer.Status);
        Assert.Equal(IPAddress.Parse("192.0.2.1"), Assert.Single(answer.Of<AddressRecord>()).Address);
        Assert.Equal(1, server.UdpQueries);
    }

    [Fact]
    public async Task A_reply_from_another_port_is_ignored()
    {
        await using var server = new FakeDnsServer(q =>
        [
            new FakeReply(DnsWire.Response(q, answers: [Rr.A(q.Name, "6.6.6.6")]), FromOtherPort: true),
            new FakeReply(DnsWire.Response(q, answers: [Rr.A(q.Name, "192.0.2.1")]), DelayMs: 100),
        ]);
        using var resolver = Resolver(servers: server);

        var answer = await resolver.QueryAsync("example.test", DnsRecordType.A);

        Assert.Equal(IPAddress.Parse("192.0.2.1"), Assert.Single(answer.Of<AddressRecord>()).Address);
    }

    [Fact]
    public async Task A_reply_to_another_question_is_ignored()
    {
        await using var server = new FakeDnsServer(q =>
        [
            new FakeReply(DnsWire.Response(q.Id, "evil.test", q.Type, answers: [Rr.A("evil.test", "6.6.6.6")])),
            new FakeReply(DnsWire.Response(q, answers: [Rr.A(q.Name, "192.0.2.1")]), DelayMs: 50),
        ]);
        using var resolver = Resolver(servers: server);

        var answer = await resolver.QueryAsync("example.test", DnsRecordType.A);

        Assert.Equal(IPAddress.Parse("192.0.2.1"), Assert.Single(answer.Of<AddressRecord>()).Address);
    }

    [Fact]
    public async Task Truncated_udp_answer_is_asked_again_over_tcp()
    {
        var strings = Enumerable.Range(0, 8).Select(i => new string((char)('a' + i), 250)).ToArray();
        await using var server = new FakeDnsServer(q => q.Tcp
            ? [new FakeReply(DnsWire.Response(q, answers: [Rr.Txt(q.Name, strings)]))]
            : [new FakeReply(DnsWire.Response(q, flags: DnsWire.ResponseFlags | DnsWire.TC))]);
        using var resolver = Resolver(servers: server);

        var result = await resolver.ResolveTxtAsync("example.test");

        Assert.Equal(DnsStatus.Ok, result.Status);
        Assert.Equal(string.Concat(strings), Assert.Single(result.Records));
        Assert.Equal(1, server.UdpQueries);
        Assert.Equal(1, server.TcpQueries);
        Assert.Equal(server.Queries.First().Id, server.Queries.Last().Id);
    }

    [Fact]
    public async Task Silent_server_times_out_and_the_second_server_answers()
    {
        await using var silent = FakeDnsServer.Silent();
        await using var good = FakeDnsServer.Answering(MxAnswer);
        using var resolver = Resolver(timeout: ShortTimeout, servers: [silent, good]);
        var stopwatch = Stopwatch.StartNew();

        var result = await resolver.ResolveMxAsync("example.test");

        Assert.Equal(DnsStatus.Ok, result.Status);
        Assert.Equal(2, result.Records.Count);
        Assert.True(stopwatch.Elapsed >= ShortTimeout - TimeSpan.FromMilliseconds(50), $"answered after {stopwatch.Elapsed}");
        Assert.Equal(1, silent.UdpQueries);
        Assert.Equal(1, good.UdpQueries);
    }

    [Theory]
    [InlineData(2)] // SERVFAIL
    [InlineData(5)] // REFUSED
    public async Task Server_error_moves_on_to_the_next_server(int rcode)
    {
        await using var failing = new FakeDnsServer(q => [new FakeReply(DnsWire.Response(q, rcode: rcode))]);
        await using var good = FakeDnsServer.Answering(MxAnswer);
        using var resolver = Resolver(servers: [failing, good]);

        var result = await resolver.ResolveMxAsync("example.test");

        Assert.Equal(DnsStatus.Ok, result.Status);
        Assert.Equal(1, failing.UdpQueries);
        Assert.Equal(1, good.UdpQueries);
    }

    [Fact]
    public async Task Malformed_answer_moves_on_to_the_next_server()
    {
        await using var broken = new FakeDnsServer(q =>
        [
            // Right id and question, then a record whose data runs past the end.
            new FakeReply([.. DnsWire.Response(q)[..6], 0, 1, 0, 0, 0, 0, .. DnsWire.Response(q)[12..], 0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 99]),
        ]);
        await using var good = FakeDnsServer.Answering(Rr.A("example.test", "192.0.2.1"));
        using var resolver = Resolver(servers: [broken, good]);

        var answer = await resolver.QueryAsync("example.test", DnsRecordType.A);

        Assert.Equal(DnsStatus.Ok, answer.Status);
        Assert.Equal(1, broken.UdpQueries);
    }

    [Fact]
    public async Task Every_server_failing_gives_the_failure_after_all_rounds()
    {
        await using var first = new FakeDnsServer(q => [new FakeReply(DnsWire.Response(q, rcode: 2))]);
        await using var second = FakeDnsServer.Silent();
        using var resolver = Resolver(timeout: ShortTimeout, attempts: 3, servers: [first, second]);

        var answer = await resolver.QueryAsync("example.test", DnsRecordType.MX);

        Assert.Equal(DnsStatus.ServerFailure, answer.Status); // a server's word beats silence
        Assert.Equal(3, first.UdpQueries);
        Assert.Equal(3, second.UdpQueries);
    }

    [Fact]
    public async Task All_silent_is_a_timeout_bounded_by_attempts_times_servers()
    {
        await using var first = FakeDnsServer.Silent();
        await using var second = FakeDnsServer.Silent();
        using var resolver = Resolver(timeout: TimeSpan.FromMilliseconds(200), attempts: 2, servers: [first, second]);
        var stopwatch = Stopwatch.StartNew();

        var answer = await resolver.QueryAsync("example.test", DnsRecordType.A);

        Assert.Equal(DnsStatus.Timeout, answer.Status);
        Assert.Equal(2, first.UdpQueries);
        Assert.Equal(2, second.UdpQueries);
        Assert.True(stopwatch.Elapsed >= TimeSpan.FromMilliseconds(4 * 200 - 100), $"took only {stopwatch.Elapsed}");
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"took {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task Closed_port_fails_over_at_once()
    {
        int closedPort;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            closedPort = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }
        await using var good = FakeDnsServer.Answering(Rr.A("example.test", "192.0.2.1"));
        using var resolver = new StubResolver(new DnsOptions
        {
            Servers = [new IPEndPoint(IPAddress.Loopback, closedPort), good.EndPoint],
            Timeout = TimeSpan.FromSeconds(10),
        }, TimeProvider.System);
        var stopwatch = Stopwatch.StartNew();

        var answer = await resolver.QueryAsync("example.test", DnsRecordType.A);

        Assert.Equal(DnsStatus.Ok, answer.Status);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"took {stopwatch.Elapsed}: the ICMP error was not used");
    }

    [Fact]
    public async Task Second_query_is_answered_from_the_cache()
    {
        await using var server = FakeDnsServer.Answering(MxAnswer);
        using var resolver = Resolver(servers: server);

        var first = await resolver.QueryAsync("example.test", DnsRecordType.MX);
        var second = await resolver.QueryAsync("EXAMPLE.test.", DnsRecordType.MX);

        Assert.Equal(first.Records, second.Records);
        Assert.Equal(1, server.UdpQueries);
        Assert.Equal(1, resolver.CacheCount);
    }

    // The cache tests move a FakeTimeProvider by hand. The resolver's timeouts run on it too and fire only when it is
    // moved, so every query of these tests is answered.
    [Fact]
    public async Task Cached_answer_expires_with_its_ttl()
    {
        var time = new FakeTimeProvider();
        await using var server = FakeDnsServer.Answering(Rr.A("example.test", "192.0.2.1", ttl: 60), Rr.A("example.test", "192.0.2.2", ttl: 90));
        using var resolver = Resolver(time, servers: server);

        await resolver.QueryAsync("example.test", DnsRecordType.A);
        time.Advance(TimeSpan.FromSeconds(59));
        await resolver.QueryAsync("example.test", DnsRecordType.A);
        Assert.Equal(1, server.UdpQueries);

        time.Advance(TimeSpan.FromSeconds(1)); // the least TTL, 60 s, is over
        var answer = await resolver.QueryAsync("example.test", DnsRecordType.A);
        Assert.Equal(DnsStatus.Ok, answer.Status);
        Assert.Equal(2, server.UdpQueries);
    }

    [Fact]
    public async Task Positive_ttl_is_capped_by_max_cache_ttl()
    {
        var time = new FakeTimeProvider();
        await using var server = FakeDnsServer.Answering(Rr.A("example.test", "192.0.2.1", ttl: 7 * 86400));
        using var resolver = Resolver(time, configure: o => o.MaxCacheTtl = TimeSpan.FromMinutes(10), servers: server);

        await resolver.QueryAsync("example.test", DnsRecordType.A);
        time.Advance(TimeSpan.FromMinutes(9));
        await resolver.QueryAsync("example.test", DnsRecordType.A);
        Assert.Equal(1, server.UdpQueries);
        time.Advance(TimeSpan.FromMinutes(2));
        await resolver.QueryAsync("example.test", DnsRecordType.A);
        Assert.Equal(2, server.UdpQueries);
    }

    [Theory]
    [InlineData(3, DnsStatus.NxDomain)]
    [InlineData(0, DnsStatus.NoData)]
    public async Task Negative_answer_is_cached_for_the_soa_ttl(int rcode, DnsStatus expected)
    {
        var time = new FakeTimeProvider();
        await using var server = new FakeDnsServer(q =>
            [new FakeReply(DnsWire.Response(q, rcode: rcode, authority: [Rr.Soa("example.test", ttl: 3600, minimum: 30)]))]);
        using var resolver = Resolver(time, servers: server);

        Assert.Equal(expected, (await resolver.QueryAsync("nope.example.test", DnsRecordType.A)).Status);
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(expected, (await resolver.QueryAsync("nope.example.test", DnsRecordType.A)).Status);
        Assert.Equal(1, server.UdpQueries);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(expected, (await resolver.QueryAsync("nope.example.test", DnsRecordType.A)).Status);
        Assert.Equal(2, server.UdpQueries);
    }

    [Fact]
    public async Task Negative_ttl_is_capped()
    {
        var time = new FakeTimeProvider();
        await using var server = new FakeDnsServer(q =>
            [new FakeReply(DnsWire.Response(q, rcode: 3, authority: [Rr.Soa("example.test", ttl: 86400, minimum: 86400)]))]);
        using var resolver = Resolver(time, configure: o => o.NegativeTtl = TimeSpan.FromMinutes(5), servers: server);

        await resolver.QueryAsync("nope.example.test", DnsRecordType.A);
        time.Advance(TimeSpan.FromMinutes(5));
        await resolver.QueryAsync("nope.example.test", DnsRecordType.A);

        Assert.Equal(2, server.UdpQueries);
    }

    [Fact]
    public async Task Negative_answer_without_soa_is_not_cached()
    {
        await using var server = new FakeDnsServer(q => [new FakeReply(DnsWire.Response(q, rcode: 3))]);
        using var resolver = Resolver(servers: server);

        await resolver.QueryAsync("nope.example.test", DnsRecordType.A);
        await resolver.QueryAsync("nope.example.test", DnsRecordType.A);

        Assert.Equal(2, server.UdpQueries);
    }

    [Fact]
    public async Task Failures_are_not_cached()
    {
        await using var server = new FakeDnsServer(q => [new FakeReply(DnsWire.Response(q, rcode: 2))]);
        using var resolver = Resolver(attempts: 1, servers: server);

        Assert.Equal(DnsStatus.ServerFailure, (await resolver.QueryAsync("example.test", DnsRecordType.A)).Status);
        Assert.Equal(DnsStatus.ServerFailure, (await resolver.QueryAsync("example.test", DnsRecordType.A)).Status);

        Assert.Equal(2, server.UdpQueries);
        Assert.Equal(0, resolver.CacheCount);
    }

    [Fact]
    public async Task Cache_is_bounded_and_drops_the_oldest()
    {
        await using var server = new FakeDnsServer(q => [new FakeReply(DnsWire.Response(q, answers: [Rr.A(q.Name, "192.0.2.1")]))]);
        using var resolver = Resolver(configure: o => o.MaxCacheEntries = 2, servers: server);

        foreach (var name in new[] { "a.test", "b.test", "c.test" })
            await resolver.QueryAsync(name, DnsRecordType.A);
        Assert.Equal(2, resolver.CacheCount);
        await resolver.QueryAsync("c.test", DnsRecordType.A); // cached
        await resolver.QueryAsync("a.test", DnsRecordType.A); // pushed out: asked again

        Assert.Equal(["a.test", "b.test", "c.test", "a.test"], server.Queries.Select(q => q.Name));
    }

    [Fact]
    public async Task Concurrent_identical_queries_share_one_lookup()
    {
        await using var server = new FakeDnsServer(q => [new FakeReply(DnsWire.Response(q, answers: MxAnswer), DelayMs: 200)]);
        using var resolver = Resolver(servers: server);

        var answers = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => resolver.QueryAsync("example.test", DnsRecordType.MX)));

        Assert.All(answers, a => Assert.Equal(2, a.Records.Count));
        Assert.Equal(1, server.UdpQueries);
    }

    [Fact]
    public async Task Caller_cancellation_throws_for_that_caller_only()
    {
        await using var server = new FakeDnsServer(q => [new FakeReply(DnsWire.Response(q, answers: MxAnswer), DelayMs: 300)]);
        using var resolver = Resolver(servers: server);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        var patient = resolver.QueryAsync("example.test", DnsRecordType.MX);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => resolver.QueryAsync("example.test", DnsRecordType.MX, cancel.Token));

        Assert.Equal(DnsStatus.Ok, (await patient).Status);
    }

    [Fact]
    public async Task Name_that_cannot_be_a_query_is_malformed_without_asking()
    {
        await using var server = FakeDnsServer.Answering();
        using var resolver = Resolver(servers: server);

        var answer = await resolver.QueryAsync("a..example", DnsRecordType.A);

        Assert.Equal(DnsStatus.Malformed, answer.Status);
        Assert.Equal(0, server.UdpQueries);
    }

    [Fact]
    public async Task International_names_are_asked_in_punycode()
    {
        await using var server = FakeDnsServer.Answering(Rr.A("xn--bcher-kva.example", "192.0.2.1"));
        using var resolver = Resolver(servers: server);

        var answer = await resolver.QueryAsync("bücher.example", DnsRecordType.A);

        Assert.Equal(DnsStatus.Ok, answer.Status);
        Assert.Equal("xn--bcher-kva.example", Assert.Single(server.Queries).Name);
    }

    [Fact]
    public async Task Disposed_resolver_refuses_queries()
    {
        await using var server = FakeDnsServer.Answering();
        var resolver = Resolver(servers: server);
        resolver.Dispose();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => resolver.QueryAsync("example.test", DnsRecordType.A));
    }

    [Fact]
    public void Options_are_validated()
    {
        Assert.Throws<ArgumentException>(() => new StubResolver(new DnsOptions(), TimeProvider.System));
        var server = new IPEndPoint(IPAddress.Loopback, 53);
        Assert.Throws<ArgumentException>(() => new StubResolver(new DnsOptions { Servers = [server], Timeout = TimeSpan.Zero }));
        Assert.Throws<ArgumentException>(() => new StubResolver(new DnsOptions { Servers = [server], Attempts = 0 }));
        Assert.Throws<ArgumentException>(() => new StubResolver(new DnsOptions { Servers = [server], MaxCacheEntries = -1 }));
    }
}
