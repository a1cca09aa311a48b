using System.Globalization;
using Hermod.Core.Storage;
using Hermod.Hosting.Tests.Pipeline;
using Hermod.TestKit;

namespace Hermod.Hosting.Tests.CutThrough;

/// <summary>
/// A Hermod configured in hermod.yaml whose recipients become several copies — an alias list (each alias used by one
/// test only) and a destination delivered to two targets (the remote next hop and a maildir) — with fake next hops
/// behind static routes and cut-through on both listeners.
/// </summary>
public sealed class CutThroughCopiesWorld : IAsyncLifetime
{
    public const string Accept = "127.0.0.81";
    public const string DataReject = "127.0.0.82";
    public const string Accept2 = "127.0.0.83";
    public const string Senders = "127.0.0.84";

    public FakeMx Mx { get; private set; } = null!;
    public PipelineHost Host { get; } = new();

    public async Task InitializeAsync()
    {
        Mx = await FakeMx.StartAsync(new Dictionary<string, string>
        {
            [Accept] = "accept",
            [DataReject] = "data-reject",
            [Accept2] = "accept",
            [Senders] = "accept",
        });
        var aliases = Host.WriteFile("aliases", """
            pair@example.test: p1@ok.test, p2@ok2.test
            split@example.test: s1@ok.test, s2@drej.test
            half@example.test: reject-h1@ok.test, h2@ok.test
            gone@example.test: reject-g1@ok.test, reject-g2@ok2.test
            later-mx@example.test: tempfail-l1@ok.test, tempfail-l2@ok2.test
            later-sub@example.test: tempfail-m1@ok.test, tempfail-m2@ok2.test
            slow@example.test: stallrcpt-1@ok.test, stallrcpt-2@ok2.test
            intl@example.test: i1@ok.test, δοκιμή@ok2.test
            """);
        string Route(string domain, string address) => string.Create(CultureInfo.InvariantCulture, $"\"{domain}\": \"{address}:{Mx.Port}\"\n");
        await Host.StartAsync(new PipelineSetup
        {
            MxPipeline = "in",
            SubmissionPipeline = "in",
            Delivery = true,
            CutThrough = "{ rcpt_timeout: 1s, data_timeout: 2s }",
            Targets = $$"""
                box: { type: maildir, path: "{{Host.Work}}/mail/{user}" }
                """,
            Pipelines = $$"""
                in:
                  modifiers:
                    - alias: { table: "{{aliases}}" }
                  destination:
                    - match: [both@example.test]
                      deliver_to: [remote, box]
                  default: { deliver_to: [remote] }
                """,
            Routes = Route("example.test", Accept) + Route("ok.test", Accept) + Route("ok2.test", Accept2) + Route("drej.test", DataReject)
                + Route("sender.test", Senders),
        });
    }

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        await Mx.DisposeAsync();
    }
}

/// <summary>
/// Cut-through for a recipient with several copies: each copy goes to its own next hop while the client waits;
/// copies refused alike give that answer, mixed answers give 250 with each copy's own state (delivered, bounced,
/// stored and forwarded), and every next hop gets exactly one copy.
/// </summary>
public sealed class CutThroughCopiesTests(CutThroughCopiesWorld world) : IClassFixture<CutThroughCopiesWorld>
{
    private const string Body = "Subject: copies\r\nFrom: <s@sender.test>\r\n\r\nHello.\r\n";

    /// <summary>A message whose subject names <paramref name="token"/>, to tell it (and its bounce) from the others.</summary>
    private static string Marked(string token) => Body.Replace("Subject: copies", $"Subject: copies {token}", StringComparison.Ordinal);

    private async Task<SmtpTranscript> ConnectAsync(bool submission) =>
        submission ? await world.Host.LoginAsync() : await world.Host.ConnectAsync();

    private int CopiesAt(string host, string recipient) => world.Mx.Received(host).Count(m => m.Recipients.Contains(recipient));

    private Task<IReadOnlyList<StoredMessage>> StoredForAsync(string recipient) => CutThroughRecords.StoredForAsync(world.Host.Store, recipient);

    private Task<StoredMessage> RecordedAsync(string recipient) => CutThroughRecords.RecordedAsync(world.Host.Store, recipient);

    [Fact]
    public async Task A_recipient_with_two_targets_gets_both_copies_cut_through_and_the_client_the_next_hops_250()
    {
        await using (var smtp = await ConnectAsync(submission: false))
        {
            await smtp.SendAndExpectAsync("MAIL FROM:<s@sender.test>", "250");
            await smtp.SendAndExpectAsync("RCPT TO:<both@example.test>", "250");
            await smtp.SendAndExpectAsync("DATA", "354");
            var reply = await smtp.SendAndExpectAsync(Body + ".", "250");
            Assert.DoesNotContain("queued as", reply, StringComparison.Ordinal); // both targets' own 250, not Hermod's
        }
        Assert.Equal(1, CopiesAt(CutThroughCopiesWorld.Accept, "both@example.test"));
        var box = Assert.Single(await PipelinePeers.ReadMaildirAsync(Path.Combine(world.Host.Work, "mail", "both")));
        Assert.EndsWith("\r\n\r\nHello.\r\n", System.Text.Encoding.UTF8.GetString(box.Content), StringComparison.Ordinal);
        var stored = await RecordedAsync("both@example.test");
        Assert.Equal(["box", "remote"], stored.Deliveries.Select(d => RouteKey.Parse(d.Route).Target).Order());
        Assert.All(stored.Deliveries, d => Assert.Equal((DeliveryState.Delivered, 1), (d.State, d.Attempts)));
        await Task.Delay(1500); // the queue runner must not send either copy again
        Assert.Equal(1, CopiesAt(CutThroughCopiesWorld.Accept, "both@example.test"));
        Assert.Single(await PipelinePeers.ReadMaildirAsync(Path.Combine(world.Host.Work, "mail", "both")));
    }

    [Fact]
    public async Task An_alias_over_two_next_hops_that_both_accept_is_delivered_once_at_each()
    {
        await using (var smtp = await ConnectAsync(submission: false))
        {
            await smtp.SendAndExpectAsync("MAIL FROM:<s@sender.test>", "250");
            await smtp.SendAndExpectAsync("RCPT TO:<pair@example.test>", "250");
            await smtp.SendAndExpectAsync("DATA", "354");
            Assert.DoesNotContain("queued as", await smtp.SendAndExpectAsync(Body + ".", "250"), StringComparison.Ordinal);
        }
        Assert.Equal((1, 1), (CopiesAt(CutThroughCopiesWorld.Accept, "p1@ok.test"), CopiesAt(CutThroughCopiesWorld.Accept2, "p2@ok2.test")));
        var stored = await RecordedAsync("p1@ok.test");
        Assert.Equal(["p1@ok.test", "p2@ok2.test"], stored.Deliveries.Select(d => d.Recipient).Order());
        Assert.All(stored.Deliveries, d => Assert.Equal(DeliveryState.Delivered, d.State));
    }

    [Fact]
    public async Task Copies_answering_the_end_of_data_differently_make_the_message_durable_with_each_ones_state()
    {
        string id;
        await using (var smtp = await ConnectAsync(submission: false))
            id = await PipelineHost.SendAsync(smtp, "s@sender.test", ["split@example.test"], Body + ".\r\n");
        var stored = await world.Host.GetAsync(id);
        Assert.Equal(DeliveryState.Delivered, stored.Deliveries.Single(d => d.Recipient == "s1@ok.test").State);
        var failed = stored.Deliveries.Single(d => d.Recipient == "s2@drej.test");
        Assert.Equal((DeliveryState.Failed, 554), (failed.State, failed.LastReply!.Reply.Code));
        await world.Host.WaitAsync(id, _ => world.Mx.Received(CutThroughCopiesWorld.Senders)
            .Any(m => m.MailFrom.Length == 0 && m.Text.Contains("s2@drej.test", StringComparison.Ordinal)));
        Assert.Equal(1, CopiesAt(CutThroughCopiesWorld.Accept, "s1@ok.test"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_copy_refused_for_good_at_rcpt_beside_one_accepted_is_250_the_refused_copy_bounces(bool submission)
    {
        var refused = "reject-h1@ok.test";
        var token = Guid.NewGuid().ToString("N");
        string id;
        await using (var smtp = await ConnectAsync(submission))
            id = await PipelineHost.SendAsync(smtp, "s@sender.test", ["half@example.test"], Marked(token) + ".\r\n");
        var stored = await world.Host.GetAsync(id);
        var failed = stored.Deliveries.Single(d => d.Recipient == refused);
        Assert.Equal((DeliveryState.Failed, 550), (failed.State, failed.LastReply!.Reply.Code));
        Assert.Equal(DeliveryState.Delivered, stored.Deliveries.Single(d => d.Recipient == "h2@ok.test").State);
        await world.Host.WaitAsync(id, _ => world.Mx.Received(CutThroughCopiesWorld.Senders)
            .Any(m => m.MailFrom.Length == 0 && m.Text.Contains(token, StringComparison.Ordinal) && m.Text.Contains(refused, StringComparison.Ordinal)));
        Assert.Equal(0, CopiesAt(CutThroughCopiesWorld.Accept, refused));
        Assert.Equal(1, world.Mx.Received(CutThroughCopiesWorld.Accept).Count(m => m.Recipients.Contains("h2@ok.test") && m.Text.Contains(token, StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Copies_all_refused_for_good_at_rcpt_give_the_refusal_verbatim_and_keep_nothing(bool submission)
    {
        await using var smtp = await ConnectAsync(submission);
        await smtp.SendAndExpectAsync("MAIL FROM:<s@sender.test>", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<gone@example.test>", "550 5.1.1 ");
        await smtp.SendAndExpectAsync("RSET", "250");
        Assert.Empty(await StoredForAsync("reject-g1@ok.test"));
        Assert.Empty(await StoredForAsync("reject-g2@ok2.test"));
    }

    [Fact]
    public async Task Copies_all_refused_for_now_at_rcpt_are_that_refusal_on_ingress()
    {
        await using var smtp = await ConnectAsync(submission: false);
        await smtp.SendAndExpectAsync("MAIL FROM:<s@sender.test>", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<later-mx@example.test>", "451 4.2.0 ");
        await smtp.SendAndExpectAsync("RCPT TO:<slow@example.test>", "450 4.4.2 "); // neither next hop answers in the window
        await smtp.SendAndExpectAsync("RSET", "250");
        Assert.Empty(await StoredForAsync("tempfail-l1@ok.test"));
    }

    [Fact]
    public async Task Copies_all_refused_for_now_at_rcpt_are_250_on_submission_and_stored_and_forwarded_without_a_bounce()
    {
        string id;
        await using (var smtp = await ConnectAsync(submission: true))
            id = await PipelineHost.SendAsync(smtp, "s@sender.test", ["later-sub@example.test"], Body + ".\r\n");
        // the queue runner's own attempt meets the same 451s: both copies wait for their retry
        var stored = await world.Host.WaitAsync(id, m => m.Deliveries.All(d => d.State == DeliveryState.Deferred));
        Assert.Equal(["tempfail-m1@ok.test", "tempfail-m2@ok2.test"], stored.Deliveries.Select(d => d.Recipient).Order());
        Assert.DoesNotContain(world.Mx.Received(CutThroughCopiesWorld.Senders), m => m.Text.Contains("tempfail-m", StringComparison.Ordinal)); // retried, not bounced
    }

    [Fact]
    public async Task A_non_ascii_copy_of_a_message_without_smtputf8_is_stored_and_forwarded_and_its_transaction_declares_it()
    {
        string id;
        await using (var smtp = await ConnectAsync(submission: false))
            id = await PipelineHost.SendAsync(smtp, "s@sender.test", ["intl@example.test"], Body + ".\r\n");
        Assert.Equal(DeliveryState.Delivered, (await world.Host.GetAsync(id)).Deliveries.Single(d => d.Recipient == "i1@ok.test").State); // cut-through
        var stored = await world.Host.WaitAsync(id, m => m.Deliveries.All(d => d.State == DeliveryState.Delivered));
        Assert.Equal(1, stored.Deliveries.Single(d => d.Recipient == "δοκιμή@ok2.test").Attempts); // by the queue, in a transaction with SMTPUTF8
        var copy = Assert.Single(world.Mx.Received(CutThroughCopiesWorld.Accept2), m => m.Recipients.Contains("δοκιμή@ok2.test"));
        Assert.Contains("SMTPUTF8", copy.MailOptions);
    }
}
