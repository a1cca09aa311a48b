using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Hermod.Core.Configuration;
using Hermod.Core.Storage;
using Hermod.Delivery.Configuration;
using Hermod.Delivery.Routing;
using Hermod.Delivery.Targets;
using Hermod.Delivery.Transport;
using Hermod.Dns;
using Hermod.Hosting.Configuration;
using Hermod.TestKit;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hermod.Delivery.Tests.Targets;

/// <summary>
/// The "remote" SMTP target in interactive mode (cut-through): MAIL at start, each RCPT as its recipient is added, the
/// content at the body, the connection back to the pool at commit. Against fake MX hosts (aiosmtpd) reached by static
/// routes and by MX records served by dnsmasq; each test has its own hosts, so the counters are its own.
/// </summary>
public sealed class InteractiveSmtpTargetTests : IAsyncLifetime
{
    private const string Accept = "127.0.0.60";
    private const string Second = "127.0.0.61";
    private const string Down = "127.0.0.62"; // nothing listens there
    private const string Refuse = "127.0.0.63";
    private const string Busy = "127.0.0.64";
    private const string DataStall = "127.0.0.65";
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource _testTimeout = new(TimeSpan.FromSeconds(90));
    private readonly List<SmtpTransport> _transports = [];
    private readonly List<StubResolver> _resolvers = [];
    private FakeMx _mx = null!;
    private Dnsmasq _dns = null!;

    private CancellationToken Ct => _testTimeout.Token;

    public async Task InitializeAsync()
    {
        var mx = FakeMx.StartAsync(new Dictionary<string, string>
        {
            [Accept] = "accept",
            [Second] = "accept",
            [Refuse] = "reject",
            [Busy] = "busy",
            [DataStall] = "data-stall",
        });
        var dns = Dnsmasq.StartAsync(
        [
            "--local=/test/",
            "--mx-host=fallback.test,mx1.fallback.test,10", $"--host-record=mx1.fallback.test,{Down}",
            "--mx-host=fallback.test,mx2.fallback.test,20", $"--host-record=mx2.fallback.test,{Second}",
            "--mx-host=busyfirst.test,mx1.busyfirst.test,10", $"--host-record=mx1.busyfirst.test,{Busy}",
            "--mx-host=busyfirst.test,mx2.busyfirst.test,20", $"--host-record=mx2.busyfirst.test,{Second}",
        ], probe: "fallback.test");
        _mx = await mx;
        _dns = await dns;
    }

    public async Task DisposeAsync()
    {
        foreach (var transport in _transports)
            await transport.DisposeAsync();
        foreach (var resolver in _resolvers)
            resolver.Dispose();
        await _dns.DisposeAsync();
        await _mx.DisposeAsync();
        _testTimeout.Dispose();
    }

    /// <summary>The remote target over its own transport (its own connection pool), static routes to the fake hosts.</summary>
    private SmtpTarget Target(Action<HermodConfiguration>? configure = null)
    {
        var options = new HermodConfiguration { Hermod = new HermodOptions { Hostname = "hermod.test" } };
        options.Smtp.LocalDomains = ["local.test"];
        options.Delivery.Routes =
        [
            new RouteOptions { Domain = "static.test", Host = Accept },
            new RouteOptions { Domain = "refuse.test", Host = Refuse },
            new RouteOptions { Domain = "datastall.test", Host = DataStall },
        ];
        options.Delivery.RemotePort = _mx.Port;
        options.Delivery.Timeouts.Connect = TimeSpan.FromSeconds(2);
        options.Delivery.Timeouts.Command = TimeSpan.FromSeconds(2);
        options.Delivery.Timeouts.DataBlock = TimeSpan.FromSeconds(2);
        options.Delivery.Timeouts.DataEnd = TimeSpan.FromSeconds(2);
        configure?.Invoke(options);
        var resolver = new StubResolver(new DnsOptions { Servers = [_dns.EndPoint], Timeout = TimeSpan.FromSeconds(1) });
        _resolvers.Add(resolver);
        var transport = new SmtpTransport(options.Hermod, options.Delivery, NullLogger<SmtpTransport>.Instance);
        _transports.Add(transport);
        return new SmtpTarget(new Router(options.Hermod, options.Delivery, options.Smtp, resolver), transport);
    }

    /// <summary>A message as cut-through hands it over: interactive, its size still unknown (0).</summary>
    private static TargetMessage Interactive(byte[] content, string domain)
    {
        var message = TargetKit.Message(content, domain);
        return message with { Message = message.Message with { Size = 0 }, Interactive = true };
    }

    private static QueuedRecipient R(long id, string address) => TargetKit.Recipient(id, address);

    [Fact]
    public async Task Recipients_added_one_by_one_get_the_next_hops_RCPT_replies_and_the_body_is_delivered_once()
    {
        var target = Target();
        var content = TargetKit.Content("one by one", 20_000);
        await using var delivery = await target.StartAsync(Interactive(content, "static.test"), Ct);
        Assert.Equal(0, _mx.Connections(Accept)); // the first recipient opens the transaction, with MAIL

        Assert.Null(await delivery.AddRecipientAsync(R(11, "alice@static.test"), Ct));
        Assert.Equal(1, _mx.Connections(Accept));
        Assert.Equal(1, _mx.RcptCommands(Accept)); // sent now, not at the body
        var rejected = await delivery.AddRecipientAsync(R(12, "reject-bob@static.test"), Ct);
        Assert.Equal((550, "5.1.1", Accept), (rejected!.Reply.Code, rejected.Reply.Enhanced.ToString(), rejected.RemoteHost));
        Assert.Equal(2, _mx.RcptCommands(Accept));
        var deferred = await delivery.AddRecipientAsync(R(13, "tempfail-carol@static.test"), Ct);
        Assert.Equal((451, "4.2.0", Accept), (deferred!.Reply.Code, deferred.Reply.Enhanced.ToString(), deferred.RemoteHost));
        Assert.Null(await delivery.AddRecipientAsync(R(14, "dave@static.test"), Ct));
        Assert.Equal(4, _mx.RcptCommands(Accept));
        Assert.Equal(0, _mx.DataTransactions(Accept));

        delivery.PrepareBody(); // DATA goes ahead of the content, as cut-through does when the client starts sending it
        var body = await delivery.BodyAsync(Ct);
        Assert.Equal([11L, 14L], body.Replies.Keys.Order());
        Assert.All(body.Replies.Values, r => Assert.Equal((250, "2.0.0", Accept), (r.Reply.Code, r.Reply.Enhanced.ToString(), r.RemoteHost)));
        Assert.False(body.Held);
        Assert.False(body.DsnSupported); // aiosmtpd offers no DSN
        await delivery.CommitAsync(Ct);

        var received = Assert.Single(await _mx.WaitForAsync(Accept, 1, Within));
        Assert.Equal(["alice@static.test", "dave@static.test"], received.Recipients);
        Assert.Equal("sender@origin.test", received.MailFrom);
        Assert.DoesNotContain(received.MailOptions, o => o.StartsWith("SIZE", StringComparison.OrdinalIgnoreCase)); // size unknown: none announced
        Assert.Equal(content, received.Content);
        Assert.Equal(1, _mx.DataTransactions(Accept));
        Assert.Equal(1, _mx.Connections(Accept));
    }

    [Theory]
    [InlineData("fallback.test", Down)] // the first MX does not answer at all
    [InlineData("busyfirst.test", Busy)] // the first MX answers MAIL with 451
    public async Task The_next_MX_takes_the_transaction_when_the_first_cannot(string domain, string first)
    {
        var target = Target();
        var content = TargetKit.Content("fallback", 5_000);
        await using var delivery = await target.StartAsync(Interactive(content, domain), Ct);
        Assert.Null(await delivery.AddRecipientAsync(R(1, $"user@{domain}"), Ct));
        var body = await delivery.BodyAsync(Ct);
        var reply = Assert.Single(body.Replies).Value;
        Assert.Equal((250, $"mx2.{domain}"), (reply.Reply.Code, reply.RemoteHost));
        await delivery.CommitAsync(Ct);

        var received = Assert.Single(await _mx.WaitForAsync(Second, 1, Within));
        Assert.Equal([$"user@{domain}"], received.Recipients);
        Assert.Equal(content, received.Content);
        Assert.Empty(_mx.Received(first));
        Assert.Equal(0, _mx.RcptCommands(first));
    }

    [Fact]
    public async Task A_refused_MAIL_is_every_recipients_answer_and_no_RCPT_is_sent()
    {
        var target = Target();
        var message = Interactive(TargetKit.Content("refused", 1_000), "refuse.test");
        await using (var delivery = await target.StartAsync(message, Ct))
        {
            foreach (var (id, address) in new[] { (1L, "a@refuse.test"), (2L, "b@refuse.test") })
            {
                var reply = await delivery.AddRecipientAsync(R(id, address), Ct);
                Assert.Equal((550, "5.7.1", Refuse), (reply!.Reply.Code, reply.Reply.Enhanced.ToString(), reply.RemoteHost));
            }
        }

        // The same through the two phases as the router drives them: nothing accepted, so no body.
        var result = await DeliveryTargets.DeliverAsync(target, message, [R(3, "c@refuse.test"), R(4, "d@refuse.test")], Ct);
        Assert.Equal([3L, 4L], result.Replies.Keys.Order());
        Assert.All(result.Replies.Values, r => Assert.Equal(550, r.Reply.Code));
        Assert.Equal(0, _mx.RcptCommands(Refuse));
        Assert.Equal(0, _mx.DataTransactions(Refuse));
    }

    [Fact]
    public async Task The_pooled_connection_carries_the_next_interactive_transaction_and_the_queue_runners()
    {
        var target = Target();
        var first = TargetKit.Content("first", 3_000);
        var second = TargetKit.Content("second", 4_000);
        var result = await DeliveryTargets.DeliverAsync(target, Interactive(first, "static.test"), [R(1, "one@static.test")], Ct);
        Assert.Equal(250, Assert.Single(result.Replies).Value.Reply.Code);
        result = await DeliveryTargets.DeliverAsync(target, Interactive(second, "static.test"), [R(2, "two@static.test")], Ct);
        Assert.Equal(250, Assert.Single(result.Replies).Value.Reply.Code);
        Assert.Equal(1, _mx.Connections(Accept));

        // The store-and-forward path shares the pool.
        var third = TargetKit.Content("third", 5_000);
        result = await DeliveryTargets.DeliverAsync(target, TargetKit.Message(third, "static.test"), [R(3, "three@static.test")], Ct);
        Assert.Equal(250, Assert.Single(result.Replies).Value.Reply.Code);
        Assert.Equal(1, _mx.Connections(Accept));

        var received = await _mx.WaitForAsync(Accept, 3, Within);
        Assert.Equal([first, second, third], received.Select(m => m.Content));
        Assert.Equal(["one@static.test", "two@static.test", "three@static.test"], received.Select(m => Assert.Single(m.Recipients)));
    }

    [Theory]
    [InlineData(true)] // AbortAsync
    [InlineData(false)] // disposed with neither commit nor abort
    public async Task An_abandoned_transaction_delivers_nothing_and_its_connection_is_reset_for_the_next(bool abort)
    {
        var target = Target();
        var delivery = await target.StartAsync(Interactive(TargetKit.Content("abandoned", 2_000), "static.test"), Ct);
        Assert.Null(await delivery.AddRecipientAsync(R(1, "gone@static.test"), Ct));
        if (abort)
            await delivery.AbortAsync(Ct);
        await delivery.DisposeAsync();
        Assert.Equal(0, _mx.DataTransactions(Accept));

        // The same connection (RSET, then back to the pool) takes the next transaction: MAIL is not refused as nested.
        var content = TargetKit.Content("after", 2_000);
        var result = await DeliveryTargets.DeliverAsync(target, Interactive(content, "static.test"), [R(2, "kept@static.test")], Ct);
        Assert.Equal(250, Assert.Single(result.Replies).Value.Reply.Code);
        Assert.Equal(1, _mx.Connections(Accept));
        var received = Assert.Single(await _mx.WaitForAsync(Accept, 1, Within));
        Assert.Equal(["kept@static.test"], received.Recipients);
        Assert.Equal(content, received.Content);
    }

    [Fact]
    public async Task A_held_route_answers_every_recipient_with_the_hold_and_the_body_says_held()
    {
        var target = Target();
        await using var delivery = await target.StartAsync(Interactive(TargetKit.Content("held", 500), "local.test"), Ct);
        var first = await delivery.AddRecipientAsync(R(1, "a@local.test"), Ct);
        var second = await delivery.AddRecipientAsync(R(2, "b@local.test"), Ct);
        Assert.Equal((0, "4.3.0"), (first!.Reply.Code, first.Reply.Enhanced.ToString()));
        Assert.Contains("held", first.Reply.Text, StringComparison.Ordinal);
        Assert.Equal(first, second);
        var body = await delivery.BodyAsync(Ct);
        Assert.True(body.Held);
        Assert.Equal([1L, 2L], body.Replies.Keys.Order());
    }

    [Fact]
    public async Task A_domain_that_does_not_exist_answers_every_recipient_permanently()
    {
        var target = Target();
        await using var delivery = await target.StartAsync(Interactive(TargetKit.Content("nxdomain", 500), "nowhere.test"), Ct);
        var reply = await delivery.AddRecipientAsync(R(1, "a@nowhere.test"), Ct);
        Assert.Equal((0, "5.1.2"), (reply!.Reply.Code, reply.Reply.Enhanced.ToString()));
    }

    [Fact]
    public async Task A_stalled_end_of_data_is_a_temporary_failure_that_may_have_delivered_and_the_connection_is_not_reused()
    {
        var target = Target();
        var message = Interactive(TargetKit.Content("stalled", 2_000), "datastall.test");
        var result = await DeliveryTargets.DeliverAsync(target, message, [R(1, "a@datastall.test"), R(2, "b@datastall.test")], Ct);
        Assert.Equal([1L, 2L], result.Replies.Keys.Order());
        Assert.All(result.Replies.Values, r =>
        {
            Assert.Equal((0, "4.4.2"), (r.Reply.Code, r.Reply.Enhanced.ToString()));
            Assert.Contains("may have been delivered", r.Reply.Text, StringComparison.Ordinal);
        });
        Assert.Equal(1, _mx.DataTransactions(DataStall));

        // The broken connection was closed, not pooled: the next transaction opens a new one.
        await using var next = await target.StartAsync(message, Ct);
        Assert.Null(await next.AddRecipientAsync(R(3, "c@datastall.test"), Ct));
        await next.AbortAsync(Ct);
        Assert.Equal(2, _mx.Connections(DataStall));
    }

    [Fact]
    public async Task An_unanswered_RCPT_times_out_then_answers_every_later_recipient_without_sending()
    {
        var target = Target();
        await using var delivery = await target.StartAsync(Interactive(TargetKit.Content("stall at rcpt", 500), "static.test"), Ct);
        Assert.Null(await delivery.AddRecipientAsync(R(1, "fine@static.test"), Ct));
        var stalled = await delivery.AddRecipientAsync(R(2, "stallrcpt-x@static.test"), Ct);
        Assert.Equal((0, "4.4.2", Accept), (stalled!.Reply.Code, stalled.Reply.Enhanced.ToString(), stalled.RemoteHost));
        var later = await delivery.AddRecipientAsync(R(3, "later@static.test"), Ct);
        Assert.Equal(stalled, later);
        Assert.Equal(2, _mx.RcptCommands(Accept));

        // The recipient accepted before the break gets the break as its answer too.
        var body = await delivery.BodyAsync(Ct);
        Assert.Equal(stalled, Assert.Single(body.Replies, r => r.Key == 1).Value);
        Assert.Empty(_mx.Received(Accept));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)] // the queue runner's path: one SendAsync
    public async Task A_failing_content_source_closes_the_connection(bool interactive)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var target = Target(o => o.Delivery.Routes.Add(BareRoute(listener)));
            var server = ServeOneAsync(listener, "read-until-closed");
            var message = TargetKit.Message([], "bare.test") with
            {
                Interactive = interactive,
                WriteContentAsync = async (stream, ct) =>
                {
                    await stream.WriteAsync("Subject: half\r\n\r\nthe start, then"u8.ToArray(), ct);
                    throw new IOException("the blob store failed");
                },
            };
            var result = await DeliveryTargets.DeliverAsync(target, message, [R(1, "a@bare.test")], Ct);
            Assert.Equal((0, "4.3.0"), (Assert.Single(result.Replies).Value.Reply.Code, result.Replies[1].Reply.Enhanced.ToString()));
            await server.WaitAsync(Within, Ct); // ends only when the client has closed its connection
        }
        finally
        {
            listener.Stop();
        }
    }

    [Fact]
    public async Task An_idle_connection_the_server_has_closed_is_replaced_by_a_new_one_to_the_same_hop()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var target = Target(o => o.Delivery.Routes.Add(BareRoute(listener)));
            var first = TargetKit.Content("first", 1_000);
            var closing = ServeOneAsync(listener, "take-and-close"); // like a server whose idle timeout expired
            var result = await DeliveryTargets.DeliverAsync(target, Interactive(first, "bare.test"), [R(1, "a@bare.test")], Ct);
            Assert.Equal(250, Assert.Single(result.Replies).Value.Reply.Code);
            Assert.Equal([Encoding.Latin1.GetString(first)], await closing.WaitAsync(Within, Ct));

            var second = TargetKit.Content("second", 1_000);
            var serving = ServeOneAsync(listener, "take");
            result = await DeliveryTargets.DeliverAsync(target, Interactive(second, "bare.test"), [R(2, "b@bare.test")], Ct);
            var reply = Assert.Single(result.Replies).Value;
            Assert.Equal((250, "taken"), (reply.Reply.Code, reply.Reply.Text));
            foreach (var transport in _transports)
                await transport.DisposeAsync(); // QUIT: the server's session ends
            Assert.Equal([Encoding.Latin1.GetString(second)], await serving.WaitAsync(Within, Ct));
        }
        finally
        {
            listener.Stop();
        }
    }

    [Fact]
    public async Task A_transaction_abandoned_after_DATA_went_ahead_is_closed_not_reset_and_delivers_nothing()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var target = Target(o => o.Delivery.Routes.Add(BareRoute(listener)));
            var server = ServeOneAsync(listener, "read-until-closed");
            var delivery = await target.StartAsync(Interactive(TargetKit.Content("abandoned in data", 500), "bare.test"), Ct);
            Assert.Null(await delivery.AddRecipientAsync(R(1, "a@bare.test"), Ct));
            delivery.PrepareBody();
            await delivery.AbortAsync(Ct);
            await delivery.DisposeAsync();
            // An RSET would be read as content and the connection pooled; instead it is closed, which ends the session.
            Assert.Empty(await server.WaitAsync(Within, Ct));
        }
        finally
        {
            listener.Stop();
        }
    }

    private static RouteOptions BareRoute(TcpListener listener) =>
        new() { Domain = "bare.test", Host = "127.0.0.1", Port = ((IPEndPoint)listener.LocalEndpoint).Port, Tls = OutboundTls.None };

    /// <summary>
    /// A bare SMTP server for one connection, for what aiosmtpd cannot be made to do: 250 to every command, 354 to DATA.
    /// After DATA, per <paramref name="afterData"/>: "take" reads the message to its final dot and answers 250;
    /// "take-and-close" does that, then closes the connection; "read-until-closed" reads until the client goes away.
    /// Returns the messages taken once the session is over (the client closed, or the server did).
    /// </summary>
    private static async Task<List<string>> ServeOneAsync(TcpListener listener, string afterData)
    {
        using var client = await listener.AcceptTcpClientAsync();
        var stream = client.GetStream();
        var reader = new StreamReader(stream, Encoding.Latin1);
        var messages = new List<string>();
        async Task ReplyAsync(string line) => await stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"));
        await ReplyAsync("220 bare.test ESMTP");
        while (await reader.ReadLineAsync() is { } line)
        {
            if (!line.StartsWith("DATA", StringComparison.Ordinal))
            {
                await ReplyAsync(line.StartsWith("EHLO", StringComparison.Ordinal) ? "250 bare.test" : "250 OK");
                continue;
            }
            await ReplyAsync("354 go ahead");
            if (afterData == "read-until-closed")
            {
                var buffer = new char[4096];
                while (await reader.ReadAsync(buffer) > 0)
                {
                    // the content, until the client goes away
                }
                break;
            }
            var text = new StringBuilder();
            while (await reader.ReadLineAsync() is { } content && content != ".")
                text.Append(content).Append("\r\n");
            messages.Add(text.ToString());
            await ReplyAsync("250 taken");
            if (afterData == "take-and-close")
                break;
        }
        return messages;
    }

    [Fact]
    public async Task A_cancelled_RCPT_closes_the_connection_and_later_recipients_get_a_temporary_failure_without_sending()
    {
        var target = Target(o => o.Delivery.Timeouts.Command = TimeSpan.FromSeconds(30));
        await using var delivery = await target.StartAsync(Interactive(TargetKit.Content("cancelled", 500), "static.test"), Ct);
        Assert.Null(await delivery.AddRecipientAsync(R(1, "first@static.test"), Ct));
        using (var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => delivery.AddRecipientAsync(R(2, "stallrcpt-z@static.test"), cancel.Token));
        var later = await delivery.AddRecipientAsync(R(3, "later@static.test"), Ct);
        Assert.Equal((0, "4.4.1"), (later!.Reply.Code, later.Reply.Enhanced.ToString()));
        Assert.Equal(2, _mx.RcptCommands(Accept));
        var body = await delivery.BodyAsync(Ct);
        Assert.Equal((0, "4.4.1"), (body.Replies[1].Reply.Code, body.Replies[1].Reply.Enhanced.ToString()));
        Assert.Equal(0, _mx.DataTransactions(Accept));
    }

    [Fact]
    public async Task Abort_interrupts_a_RCPT_that_is_still_waiting_for_its_answer()
    {
        var target = Target(o => o.Delivery.Timeouts.Command = TimeSpan.FromSeconds(30));
        var delivery = await target.StartAsync(Interactive(TargetKit.Content("interrupted", 500), "static.test"), Ct);
        var pending = delivery.AddRecipientAsync(R(1, "stallrcpt-y@static.test"), Ct);
        await _mx.WaitForCountAsync(Accept, FakeMx.RcptsCounter, 1, Within);

        var clock = Stopwatch.StartNew();
        await delivery.AbortAsync(Ct);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        await delivery.DisposeAsync();
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(10)); // not the 30 s command timeout

        // The interrupted connection is out of step: closed, and the next transaction gets a new one.
        var content = TargetKit.Content("next", 500);
        var result = await DeliveryTargets.DeliverAsync(target, Interactive(content, "static.test"), [R(2, "next@static.test")], Ct);
        Assert.Equal(250, Assert.Single(result.Replies).Value.Reply.Code);
        Assert.Equal(2, _mx.Connections(Accept));
        Assert.Equal(content, Assert.Single(await _mx.WaitForAsync(Accept, 1, Within)).Content);
    }
}
