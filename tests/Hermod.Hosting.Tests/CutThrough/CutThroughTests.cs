using System.Net;
using System.Net.Http.Json;
using Hermod.Core.Configuration;
using Hermod.Core.Storage;
using Hermod.Delivery.Configuration;
using Hermod.Hosting.TestKit;
using Hermod.Hosting.Tests.Interop;
using Hermod.TestKit;
using Microsoft.Extensions.DependencyInjection;

namespace Hermod.Hosting.Tests.CutThrough;

/// <summary>
/// Next hops (scripts/fake_mx.py) scripted to answer RCPT and the end of data every way, each its own destination
/// domain reached through a static route, and a Hermod whose both listeners deliver cut-through with short windows.
/// </summary>
public sealed class CutThroughWorld : IAsyncLifetime
{
    public const string Accept = "127.0.0.61";
    public const string DataReject = "127.0.0.62";
    public const string DataTempfail = "127.0.0.63";
    public const string DataStall = "127.0.0.64";
    public const string Accept2 = "127.0.0.65";
    public const string Senders = "127.0.0.66";
    public const string DataDrop = "127.0.0.67";

    /// <summary>Destination domain → next hop.</summary>
    public static readonly IReadOnlyDictionary<string, string> Domains = new Dictionary<string, string>
    {
        ["ok.test"] = Accept,
        ["drej.test"] = DataReject,
        ["dtemp.test"] = DataTempfail,
        ["dstall.test"] = DataStall,
        ["ok2.test"] = Accept2,
        ["sender.test"] = Senders,
        ["ddrop.test"] = DataDrop,
    };

    public FakeMx Mx { get; private set; } = null!;
    public TestHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Mx = await FakeMx.StartAsync(new Dictionary<string, string>
        {
            [Accept] = "accept",
            [DataReject] = "data-reject",
            [DataTempfail] = "data-tempfail",
            [DataStall] = "data-stall",
            [Accept2] = "accept",
            [Senders] = "accept",
            [DataDrop] = "data-drop",
        });
        Host = await TestHost.StartAsync(o =>
        {
            o.Smtp.LocalDomains = [.. Domains.Keys];
            o.Delivery.Routes = [.. Domains.Select(d => new RouteOptions { Domain = d.Key, Host = d.Value, Port = Mx.Port, Tls = OutboundTls.None })];
            o.Smtp.Listeners.Single(l => l.Name == "submission").AllowPlaintextAuth = true;
            foreach (var listener in o.Smtp.Listeners)
                listener.CutThrough = new CutThroughOptions { Enabled = true, RcptTimeout = TimeSpan.FromSeconds(1), DataTimeout = TimeSpan.FromSeconds(2) };
            o.Delivery.Enabled = true;
            o.Delivery.Retry = new RetryOptions { Min = TimeSpan.FromHours(1), Max = TimeSpan.FromHours(2), Factor = 2, MaxAge = TimeSpan.FromDays(1) };
            o.Delivery.Timeouts.Connect = TimeSpan.FromSeconds(2);
        });
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Mx.DisposeAsync();
    }
}

/// <summary>
/// Every cell of the cut-through table (docs/cut-through.md), for both roles: what the client is told at RCPT and at the end of
/// data, what stays queued, what bounces, and how many copies each next hop got.
/// </summary>
public sealed class CutThroughTests(CutThroughWorld world) : IClassFixture<CutThroughWorld>
{
    private const string Body = "Subject: cut-through\r\nFrom: <s@sender.test>\r\n\r\nHello.\r\n..a dot\r\n";

    private static string Unique(string local, string domain) => $"{local}{Guid.NewGuid():N}"[..(local.Length + 10)] + "@" + domain;

    /// <summary>A session on the ingress listener, or on submission authenticated as alice.</summary>
    private async Task<SmtpTranscript> ConnectAsync(bool submission)
    {
        var smtp = await SmtpTranscript.ConnectAsync(world.Host.Smtp(submission ? "submission" : "mx"));
        await smtp.ExpectAsync("220 ");
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        if (submission)
        {
            var plain = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"\0alice\0{TestHost.Password}"));
            await smtp.SendAndExpectAsync($"AUTH PLAIN {plain}", "235");
        }
        return smtp;
    }

    private IReadOnlyList<ReceivedMessage> CopiesFor(string host, string recipient) =>
        [.. world.Mx.Received(host).Where(m => m.Recipients.Contains(recipient))];

    /// <summary>Waits (at most 20 s) for a message at <paramref name="host"/> that <paramref name="match"/> accepts.</summary>
    private async Task<ReceivedMessage> WaitForCopyAsync(string host, Func<ReceivedMessage, bool> match)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            if (world.Mx.Received(host).FirstOrDefault(match) is { } found)
                return found;
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"nothing arrived at {host}");
            await Task.Delay(50);
        }
    }

    private Task<IReadOnlyList<StoredMessage>> StoredForAsync(string recipient) => CutThroughRecords.StoredForAsync(world.Host.Store, recipient);

    private Task<StoredMessage> RecordedAsync(string recipient) => CutThroughRecords.RecordedAsync(world.Host.Store, recipient);

    // ---- RCPT row ------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Upstream_250_at_rcpt_and_data_is_the_answer_and_the_recipient_is_delivered_once(bool submission)
    {
        var rcpt = Unique("ok", "ok.test");
        await using (var smtp = await ConnectAsync(submission))
        {
            await smtp.SendAndExpectAsync("MAIL FROM:<s@sender.test>", "250");
            await smtp.SendAndExpectAsync($"RCPT TO:<{rcpt}>", "250");
            await smtp.SendAndExpectAsync("DATA", "354");
            var reply = await smtp.SendAndExpectAsync(Body + ".", "250");
            Assert.DoesNotContain("queued as", reply, StringComparison.Ordinal); // the next hop's own 250, handed back
        }
        var copy = Assert.Single(CopiesFor(CutThroughWorld.Accept, rcpt));
        Assert.EndsWith("\r\n\r\nHello.\r\n.a dot\r\n", copy.Text, StringComparison.Ordinal);
        var stored = await RecordedAsync(rcpt); // written without holding up the reply
        var delivery = Assert.Single(stored.Deliveries);
        Assert.Equal((DeliveryState.Delivered, 1, 250), (delivery.State, delivery.Attempts, delivery.LastReply!.Reply.Code));
        await Task.Delay(1500); // the queue runner must not send it again
        Assert.Single(CopiesFor(CutThroughWorld.Accept, rcpt));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Upstream_5xx_at_rcpt_is_the_rcpt_reply_verbatim_for_both_roles(bool submission)
    {
        var refused = Unique("reject", "ok.test");
        var accepted = Unique("ok", "ok.test");
        await using (var smtp = await ConnectAsync(submission))
        {
            await smtp.SendAndExpectAsync("MAIL FROM:<s@sender.test>", "250");
            await smtp.SendAndExpectAsync($"RCPT TO:<{refused}>", "550 5.1.1 ");
            await smtp.SendAndExpectAsync($"RCPT TO:<{accepted}>", "250");
            await smtp.SendAndExpectAsync("DATA", "354");
            await smtp.SendAndExpectAsync(Body + ".", "250");
        }
        Assert.Single(CopiesFor(CutThroughWorld.Accept, accepted));
        Assert.Empty(CopiesFor(CutThroughWorld.Accept, refused));
        Assert.Empty(await StoredForAsync(refused)); // refused: nothing queued, never bounced
    }

    [Fact]
    public async Task Upstream_4xx_at_rcpt_is_verbatim_on_ingress()
    {
        var rcpt = Unique("tempfail", "ok.test");
        await using var smtp = await ConnectAsync(submission: false);
        await smtp.SendAndExpectAsync("MAIL FROM:<s@sender.test>", "250");
        await smtp.SendAndExpectAsync($"RCPT TO:<{rcpt}>", "451 4.2.0 ");
        Assert.Empty(await StoredForAsync(rcpt));
    }

    [Fact]
    public async Task Upstream_4xx_at_rcpt_is_250_on_submission_and_the_message_is_stored_and_forwarded()
    {
        var rcpt = Unique("tempfail", "ok.test");
        string id;
        await using (var smtp = await ConnectAsync(submission: true))
        {
            await smtp.SendAndExpectAsync("MAIL FROM:<s@sender.test>", "250");
            await smtp.SendAndExpectAsync($"RCPT TO:<{rcpt}>", "250");
            await smtp.SendAndExpectAsync("DATA", "354");
            id = StoredContent.QueueIdFrom(await smtp.SendAndExpectAsync(Body + ".", "250 2.0.0 Ok: queued as "));
        }
        var stored = await world.Host.Store.GetAsync(id, default);
        Assert.NotNull(stored);
        Assert.Equal(rcpt, Assert.Single(stored.Deliveries).Recipient);
        Assert.Empty(CopiesFor(CutThroughWorld.Accept, rcpt));
        Assert.DoesNotContain(world.Mx.Received(CutThroughWorld.Senders), m => m.Text.Contains(rcpt, StringComparison.Ordinal)); // no bounce: it is retried
    }

    [Theory]
    [InlineData(false, "450 4.4.2 ")]
    [InlineData(true, "250")]
    public async Task An_upstream_that_does_not_answer_rcpt_is_450_on_ingress_and_store_and_forward_on_submission(bool submission, string expected)
    {
        var rcpt = Unique("stallrcpt", "ok.test");
        await using var smtp = await ConnectAsync(submission);
        await smtp.SendAndExpectAsync("MAIL FROM:<s@sender.test>", "250");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await smtp.SendAndExpectAsync($"RCPT TO:<{rcpt}>", expected);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(10)); // the configured window, 1 s
        if (!submission)
            return;
        await smtp.SendAndExpectAsync("DATA", "354");
        var id = StoredContent.QueueIdFrom(await smtp.SendAndExpectAsync(Body + ".", "250 2.0.0 Ok: queued as "));
        Assert.NotNull(await world.Host.Store.GetAsync(id, default));
    }

    // ---- DATA row ------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Upstream_5xx_at_data_is_the_answer_verbatim_nothing_stays_queued_and_nothing_bounces(bool submission)
    {
        var rcpt = Unique("d", "drej.test");
        await using (var smtp = await ConnectAsync(submission))
        {
            await smtp.SendAndExpectAsync("MAIL FROM:<s@sender.test>", "250");
            await smtp.SendAndExpectAsync($"RCPT TO:<{rcpt}>", "250");
            await smtp.SendAndExpectAsync("DATA", "354");
            await smtp.SendAndExpectAsync(Body + ".", "554 5.6.0 ");
            await smtp.SendAndExpectAsync("NOOP", "250"); // the session goes on
        }
        Assert.Empty(await StoredForAsync(rcpt));
        Assert.True(world.Mx.DataTransactions(CutThroughWorld.DataReject) >= 1); // it did reach the next hop's end of data
        await Task.Delay(500);
        Assert.DoesNotContain(world.Mx.Received(CutThroughWorld.Senders), m => m.Text.Contains(rcpt, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false, "451 4.3.0 ")]
    [InlineData(true, "250 2.0.0 Ok: queued as ")]
    public async Task Upstream_4xx_at_data_is_verbatim_on_ingress_and_store_and_forward_on_submission(bool submission, string expected)
    {
        var rcpt = Unique("d", "dtemp.test");
        string reply;
        await using (var smtp = await ConnectAsync(submission))
        {
            await smtp.SendAndExpectAsync("MAIL FROM:<s@sender.test>", "250");
            await smtp.SendAndExpectAsync($"RCPT TO:<{rcpt}>", "250");
            await smtp.SendAndExpectAsync("DATA", "354");
            reply = await smtp.SendAndExpectAsync(Body + ".", expected);
        }
        var stored = await StoredForAsync(rcpt);
        if (!submission)
        {
            Assert.Empty(stored);
            return;
        }
        var delivery = Assert.Single(Assert.Single(stored).Deliveries);
        Assert.Equal(StoredContent.QueueIdFrom(reply), stored[0].Envelope.Id);
        Assert.Equal((DeliveryState.Deferred, 1, 451), (delivery.State, delivery.Attempts, delivery.LastReply!.Reply.Code)); // the attempt is its history
    }

    [Theory]
    [InlineData(false, "451 4.4.2 ")]
    [InlineData(true, "250 2.0.0 Ok: queued as ")]
    public async Task An_upstream_that_does_not_answer_the_end_of_data_is_an_error_on_ingress_and_store_and_forward_on_submission(bool submission, string expected)
    {
        var rcpt = Unique("d", "dstall.test");
        await using (var smtp = await ConnectAsync(submission))
        {
            await smtp.SendAndExpectAsync("MAIL FROM:<s@sender.test>", "250");
            await smtp.SendAndExpectAsync($"RCPT TO:<{rcpt}>", "250");
            await smtp.SendAndExpectAsync("DATA", "354");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await smtp.SendAndExpectAsync(Body + ".", expected);
            Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.9), TimeSpan.FromSeconds(15)); // the 2 s window
        }
        var stored = await StoredForAsync(rcpt);
        Assert.Equal(submission ? 1 : 0, stored.Count);
        if (submission) // no answer: not an attempt; the queue takes it up (it may be in flight already)
            Assert.Contains(Assert.Single(stored[0].Deliveries).State, (DeliveryState[])[DeliveryState.Queued, DeliveryState.Inflight]);
    }

    // ---- several destinations ---------------------------------------------------------------------------------

    [Fact]
    public async Task Two_destinations_that_both_accept_give_one_answer_one_copy_each_and_nothing_left_to_send()
    {
        var one = Unique("a", "ok.test");
        var two = Unique("b", "ok2.test");
        await using (var smtp = await ConnectAsync(submission: false))
        {
            await smtp.SendAndExpectAsync("MAIL FROM:<s@sender.test>", "250");
            await smtp.SendAndExpectAsync($"RCPT TO:<{one}>", "250");
            await smtp.SendAndExpectAsync($"RCPT TO:<{two}>", "250");
            await smtp.SendAndExpectAsync("DATA", "354");
            await smtp.SendAndExpectAsync(Body + ".", "250");
        }
        Assert.Single(CopiesFor(CutThroughWorld.Accept, one));
        Assert.Single(CopiesFor(CutThroughWorld.Accept2, two));
        var stored = await RecordedAsync(one);
        Assert.All(stored.Deliveries, d => Assert.Equal(DeliveryState.Delivered, d.State));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Mixed_answers_make_the_message_durable_250_the_delivered_stay_delivered_and_the_refused_bounce(bool submission)
    {
        var good = Unique("a", "ok.test");
        var bad = Unique("b", "drej.test");
        string id;
        await using (var smtp = await ConnectAsync(submission))
        {
            await smtp.SendAndExpectAsync("MAIL FROM:<s@sender.test>", "250");
            await smtp.SendAndExpectAsync($"RCPT TO:<{good}>", "250");
            await smtp.SendAndExpectAsync($"RCPT TO:<{bad}>", "250");
            await smtp.SendAndExpectAsync("DATA", "354");
            id = StoredContent.QueueIdFrom(await smtp.SendAndExpectAsync(Body + ".", "250 2.0.0 Ok: queued as "));
        }
        var stored = await world.Host.Store.GetAsync(id, default);
        Assert.NotNull(stored);
        Assert.Equal(DeliveryState.Delivered, stored.Deliveries.Single(d => d.Recipient == good).State);
        var failed = stored.Deliveries.Single(d => d.Recipient == bad);
        Assert.Equal((DeliveryState.Failed, 554), (failed.State, failed.LastReply!.Reply.Code));
        Assert.Single(CopiesFor(CutThroughWorld.Accept, good));

        // the sender learns of the refused one from a DSN, sent once through the queue
        await WaitForCopyAsync(CutThroughWorld.Senders, m => m.MailFrom.Length == 0 && m.Text.Contains(bad, StringComparison.Ordinal));
        await Task.Delay(1000);
        Assert.Single(CopiesFor(CutThroughWorld.Accept, good)); // never sent again
    }

    [Theory]
    [InlineData(false, "451 4\\.4\\.")]
    [InlineData(true, "250 2.0.0 Ok: queued as ")]
    public async Task A_next_hop_that_dies_with_the_message_is_an_error_on_ingress_and_store_and_forward_on_submission(bool submission, string expected)
    {
        var rcpt = Unique("d", "ddrop.test");
        await using (var smtp = await ConnectAsync(submission))
        {
            await smtp.SendAndExpectAsync("MAIL FROM:<s@sender.test>", "250");
            await smtp.SendAndExpectAsync($"RCPT TO:<{rcpt}>", "250");
            await smtp.SendAndExpectAsync("DATA", "354");
            await smtp.SendAndExpectAsync(Body + ".", expected);
            await smtp.SendAndExpectAsync("NOOP", "250");
        }
        Assert.Equal(submission ? 1 : 0, (await StoredForAsync(rcpt)).Count);
    }

    [Fact]
    public async Task A_dying_next_hop_beside_one_that_accepts_makes_the_message_durable_with_each_ones_state()
    {
        var good = Unique("a", "ok.test");
        var dying = Unique("b", "ddrop.test");
        string id;
        await using (var smtp = await ConnectAsync(submission: false))
        {
            await smtp.SendAndExpectAsync("MAIL FROM:<s@sender.test>", "250");
            await smtp.SendAndExpectAsync($"RCPT TO:<{good}>", "250");
            await smtp.SendAndExpectAsync($"RCPT TO:<{dying}>", "250");
            await smtp.SendAndExpectAsync("DATA", "354");
            id = StoredContent.QueueIdFrom(await smtp.SendAndExpectAsync(Body + ".", "250 2.0.0 Ok: queued as "));
        }
        var stored = await world.Host.Store.GetAsync(id, default);
        Assert.NotNull(stored);
        Assert.Equal(DeliveryState.Delivered, stored.Deliveries.Single(d => d.Recipient == good).State);
        var retried = stored.Deliveries.Single(d => d.Recipient == dying);
        Assert.Contains(retried.State, (DeliveryState[])[DeliveryState.Deferred, DeliveryState.Inflight, DeliveryState.Queued]); // kept, retried later
        Assert.Single(CopiesFor(CutThroughWorld.Accept, good));
    }

    // ---- HTTP submission ----------------------------------------------------------------------------------------

    private static object Spec(params string[] to) =>
        new { from = new { address = "s@sender.test" }, to = to.Select(a => new { address = a }).ToArray(), subject = "http", text = "Hello." };

    [Fact]
    public async Task Http_submission_uses_the_same_window_and_the_202_tells_what_each_next_hop_said()
    {
        var api = world.Host.Host.Services.GetRequiredService<IApiStore>();
        var key = await api.CreateApiKeyAsync("cut", default);
        using var http = new HttpClient { BaseAddress = world.Host.Http };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        var good = Unique("h", "ok.test");
        var refused = Unique("reject", "ok.test");
        var later = Unique("h", "dtemp.test");
        var response = await http.PostAsJsonAsync("/v1/messages", Spec(good, refused, later));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var statuses = json.RootElement.GetProperty("recipients").EnumerateArray()
            .ToDictionary(r => r.GetProperty("address").GetString()!, r => r.GetProperty("status").GetString()!);
        Assert.Equal("delivered", statuses[good]);
        Assert.Equal("failed", statuses[refused]); // refused upstream at RCPT: told here, never bounced
        Assert.Equal("deferred", statuses[later]); // 451 at the end of data: stored and forwarded
        Assert.Single(CopiesFor(CutThroughWorld.Accept, good));

        var all = Unique("reject", "ok.test");
        var refusedAll = await http.PostAsJsonAsync("/v1/messages", Spec(all));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refusedAll.StatusCode); // every next hop refused: nothing kept
        Assert.Contains("550 5.1.1", await refusedAll.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty(await StoredForAsync(all));
    }

    [Fact]
    public async Task A_session_with_cut_through_off_stores_and_forwards_with_hermods_own_250()
    {
        await using var host = await TestHost.StartAsync(o =>
        {
            o.Smtp.LocalDomains = ["ok.test"];
            o.Delivery.Routes = [new RouteOptions { Domain = "ok.test", Host = CutThroughWorld.Accept, Port = world.Mx.Port, Tls = OutboundTls.None }];
            o.Delivery.Enabled = true;
            o.Smtp.Listeners.Single(l => l.Name == "mx").CutThrough.Enabled = false;
        });
        var rcpt = Unique("off", "ok.test");
        await using var smtp = await SmtpTranscript.ConnectAsync(host.Smtp("mx"));
        await smtp.ExpectAsync("220 ");
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        await smtp.SendAndExpectAsync("MAIL FROM:<s@sender.test>", "250");
        await smtp.SendAndExpectAsync($"RCPT TO:<{rcpt}>", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAndExpectAsync(Body + ".", "250 2.0.0 Ok: queued as ");
        await WaitForCopyAsync(CutThroughWorld.Accept, m => m.Recipients.Contains(rcpt)); // delivered afterwards by the queue
        Assert.Single(CopiesFor(CutThroughWorld.Accept, rcpt));
    }
}
