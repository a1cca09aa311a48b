using Hermod.Core.Storage;
using Hermod.Hosting.TestKit;
using Hermod.TestKit;
using static Hermod.Delivery.Tests.DeliveryWorld;
using static Hermod.Hosting.TestKit.HostKit;

namespace Hermod.Delivery.Tests;

/// <summary>Store and forward end to end: Hermod → DNS (dnsmasq) → fake MX hosts (aiosmtpd), with retries and bounces.</summary>
public sealed class DeliveryTests(DeliveryWorld world) : IClassFixture<DeliveryWorld>
{
    private static string Unique(string local, string domain) => $"{local}-{Guid.NewGuid():N}"[..(local.Length + 9)] + "@" + domain;

    private static string Content(string subject) => $"Subject: {subject}\r\nFrom: someone\r\n\r\nHello.\r\n..leading dot\r\n";

    private async Task<ReceivedMessage> ReceivedByAsync(string host, string recipient)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (For(world.Mx.Received(host), recipient).Count == 0 && clock.Elapsed < TimeSpan.FromSeconds(20))
            await Task.Delay(50);
        return Assert.Single(For(world.Mx.Received(host), recipient));
    }

    private static IReadOnlyList<ReceivedMessage> For(IReadOnlyList<ReceivedMessage> received, string recipient) =>
        [.. received.Where(m => m.Recipients.Contains(recipient))];

    [Fact]
    public async Task A_message_reaches_the_mx_byte_exact_behind_the_received_header()
    {
        var rcpt = Unique("exact", "good.test");
        var content = Content("exact") + "trailing line\r\n";
        var id = await world.SendAsync("sender@sender.test", [rcpt], content);
        var message = await world.WaitFinalAsync(id);
        Assert.Equal(DeliveryState.Delivered, message.Deliveries[0].State);
        Assert.Equal(1, message.Deliveries[0].Attempts);
        Assert.Equal("mx.good.test", message.Deliveries[0].LastReply!.RemoteHost);
        Assert.Equal(250, message.Deliveries[0].LastReply!.Reply.Code);

        var received = Assert.Single(For(world.Mx.Received(Accept), rcpt));
        Assert.Equal("sender@sender.test", received.MailFrom);
        var stored = await StoredContentAsync(world.Host, id);
        Assert.Equal(stored, received.Text); // what Hermod stored (Received header + body) is what the MX got
        Assert.Equal(content.Replace("\r\n..", "\r\n.", StringComparison.Ordinal), Body(received.Text));
    }

    [Fact]
    public async Task Swaks_to_hermod_to_the_mx_arrives_byte_exact_apart_from_the_received_header()
    {
        var rcpt = Unique("swaks", "good.test");
        var data = "Subject: via swaks\r\nFrom: <sender@sender.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
                   ".starts with a dot\r\n\r\n..two dots\r\nünïcødé in 8 bits\r\n" + new string('x', 900) + "\r\nlast line"; // swaks ends it with CRLF . CRLF
        var file = Path.Combine(world.Host.DataDir, "swaks.eml");
        await File.WriteAllBytesAsync(file, System.Text.Encoding.UTF8.GetBytes(data));
        var endPoint = world.Host.Smtp("submission");
        var swaks = await Peers.RunAsync(Peers.Swaks, ["--server", $"{endPoint.Address}:{endPoint.Port}", "--from", "sender@sender.test", "--to", rcpt,
            "--data", file, "--pipeline", "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", TestHost.Password], TimeSpan.FromSeconds(60));
        Assert.True(swaks.ExitCode == 0, swaks.Describe());
        var received = await ReceivedByAsync(Accept, rcpt);
        Assert.StartsWith("Received: from ", received.Text);
        Assert.Equal(data + "\r\n", Body(received.Text));
    }

    [Fact]
    public async Task Recipients_at_one_domain_travel_in_one_transaction_others_in_their_own()
    {
        string[] good = [Unique("a", "good.test"), Unique("b", "good.test"), Unique("c", "good.test")];
        var other = Unique("d", "aonly.test"); // implicit MX: the same host, its own transaction
        var id = await world.SendAsync("sender@sender.test", [.. good, other], Content("grouped"));
        await world.WaitFinalAsync(id);
        var received = world.Mx.Received(Accept).Where(m => m.Recipients.Intersect(good.Append(other)).Any()).ToList();
        Assert.Equal(2, received.Count);
        Assert.Equal(good, received.Single(m => m.Recipients.Contains(good[0])).Recipients);
        Assert.Equal([other], received.Single(m => m.Recipients.Contains(other)).Recipients);
    }

    [Fact]
    public async Task The_next_mx_is_tried_when_the_first_refuses_connections()
    {
        var rcpt = Unique("fb", "fallback.test");
        var id = await world.SendAsync("sender@sender.test", [rcpt], Content("fallback"));
        var message = await world.WaitFinalAsync(id);
        Assert.Equal(DeliveryState.Delivered, message.Deliveries[0].State);
        Assert.Equal("mx2.fallback.test", message.Deliveries[0].LastReply!.RemoteHost);
        Assert.Single(For(world.Mx.Received(Accept), rcpt));
    }

    [Fact]
    public async Task A_4xx_to_mail_sends_the_message_to_the_next_mx_at_once()
    {
        var rcpt = Unique("busy", "busyfirst.test");
        var id = await world.SendAsync("sender@sender.test", [rcpt], Content("busy first"));
        var message = await world.WaitFinalAsync(id);
        Assert.Equal(DeliveryState.Delivered, message.Deliveries[0].State);
        Assert.Equal(1, message.Deliveries[0].Attempts); // one attempt: both hosts within it
        Assert.Equal("mx2.busyfirst.test", message.Deliveries[0].LastReply!.RemoteHost);
        Assert.Single(For(world.Mx.Received(Accept), rcpt));
        Assert.Empty(world.Mx.Received(Busy));
    }

    [Fact]
    public async Task Mail_for_a_local_domain_without_a_route_is_held_not_retried()
    {
        var id = await world.SendAsync("sender@sender.test", [Unique("local", "example.test")], Content("local"));
        var message = await world.WaitAsync(id, m => m.Deliveries[0].State == DeliveryState.Held);
        Assert.Equal(0, message.Deliveries[0].Attempts);
        Assert.StartsWith("held: no delivery target for the local domain example.test", message.Deliveries[0].LastReply!.Reply.Text);
        await Task.Delay(1000); // several retry intervals of this world: still held, never attempted, never bounced
        message = (await world.Host.Store.GetAsync(id, default))!;
        Assert.Equal((DeliveryState.Held, 0), (message.Deliveries[0].State, message.Deliveries[0].Attempts));
        Assert.DoesNotContain(world.Bounces("sender@sender.test"), b => b.Text.Contains(id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_451_is_retried_and_delivered_once()
    {
        var rcpt = Unique("flaky", "flaky.test");
        var id = await world.SendAsync("sender@sender.test", [rcpt], Content("flaky"));
        var message = await world.WaitFinalAsync(id);
        Assert.Equal(DeliveryState.Delivered, message.Deliveries[0].State);
        Assert.Equal(2, message.Deliveries[0].Attempts);
        Assert.Single(For(world.Mx.Received(Flaky), rcpt));
        Assert.DoesNotContain(world.Bounces("sender@sender.test"), b => b.Text.Contains(rcpt, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_550_fails_at_once_and_the_sender_gets_one_dsn_for_all_failed_recipients()
    {
        var sender = Unique("s", "sender.test");
        string[] rcpts = [Unique("reject1", "good.test"), Unique("reject2", "good.test")];
        var ok = Unique("ok", "good.test");
        var id = await world.SendAsync(sender, [.. rcpts, ok], Content("partly refused"), rcptParameters: "");
        var message = await world.WaitFinalAsync(id);
        Assert.Equal([DeliveryState.Failed, DeliveryState.Failed, DeliveryState.Delivered], message.Deliveries.Select(d => d.State));
        Assert.Equal(1, message.Deliveries[0].Attempts);

        var bounce = Assert.Single(await WaitForBouncesAsync(sender, 1));
        Assert.Contains("Content-Type: multipart/report; report-type=delivery-status", bounce.Text);
        foreach (var r in rcpts)
            Assert.Contains($"Final-Recipient: rfc822; {r}", bounce.Text);
        Assert.DoesNotContain($"Final-Recipient: rfc822; {ok}", bounce.Text);
        Assert.Contains("Action: failed", bounce.Text);
        Assert.Contains("Diagnostic-Code: smtp; 550 5.1.1 No such user here", bounce.Text);
        Assert.Contains("Remote-MTA: dns; mx.good.test", bounce.Text);
        Assert.Contains("Subject: partly refused", bounce.Text); // the original headers
        Assert.DoesNotContain("..leading dot", bounce.Text);
    }

    private async Task<IReadOnlyList<ReceivedMessage>> WaitForBouncesAsync(string sender, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (world.Bounces(sender).Count < count && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        await Task.Delay(300); // and no more than that
        return world.Bounces(sender);
    }

    [Theory]
    [InlineData("refuse.test", "5.7.1")]
    [InlineData("nullmx.test", "5.1.10")]
    [InlineData("nowhere.test", "5.1.2")]
    public async Task Permanent_failures_bounce(string domain, string status)
    {
        var sender = Unique("s", "sender.test");
        var id = await world.SendAsync(sender, [Unique("u", domain)], Content("doomed"));
        var message = await world.WaitFinalAsync(id);
        Assert.Equal(DeliveryState.Failed, message.Deliveries[0].State);
        Assert.Equal(status, message.Deliveries[0].LastReply!.Reply.Enhanced.ToString());
        var bounce = Assert.Single(await WaitForBouncesAsync(sender, 1));
        Assert.Contains($"Status: {status}", bounce.Text);
    }

    [Theory]
    [InlineData("stall.test")]
    [InlineData("drop.test")]
    [InlineData("tempfail")]
    public async Task Stalls_drops_and_4xx_defer_with_the_reason_recorded(string target)
    {
        var rcpt = target == "tempfail" ? Unique("tempfail", "good.test") : Unique("u", target);
        var id = await world.SendAsync("sender@sender.test", [rcpt], Content("deferred"));
        var message = await world.WaitAsync(id, m => m.Deliveries[0].Attempts >= 1, TimeSpan.FromSeconds(20));
        var d = message.Deliveries[0];
        Assert.True(d.State is DeliveryState.Deferred or DeliveryState.Inflight, d.State.ToString());
        Assert.NotNull(d.LastReply);
        Assert.False(d.LastReply!.Reply.IsPermanent, d.LastReply.ToString());
        Assert.Equal(0, await world.Host.Store.ListAsync(DeliveryState.Delivered, 1000, default) is var delivered ? delivered.Count(m => m.Envelope.Id == id) : 0);
        await ((IDeliveryQueue)world.Host.Store).CancelAsync(id, default); // stop retrying
    }

    [Fact]
    public async Task Smtputf8_mail_to_a_server_without_smtputf8_fails_with_a_clear_reason()
    {
        var sender = Unique("s", "sender.test");
        var id = await world.SendAsync(sender, ["jürgen@noutf8.test"], "Subject: ü\r\n\r\nü\r\n", mailParameters: " SMTPUTF8");
        var message = await world.WaitFinalAsync(id);
        Assert.Equal(DeliveryState.Failed, message.Deliveries[0].State);
        Assert.Contains("SMTPUTF8", message.Deliveries[0].LastReply!.Reply.Text, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(world.Mx.Received(NoUtf8));
        Assert.Single(await WaitForBouncesAsync(sender, 1));
    }

    [Fact]
    public async Task Notify_never_and_the_null_sender_get_no_dsn()
    {
        var sender = Unique("s", "sender.test");
        var quiet = await world.SendAsync(sender, [Unique("reject", "good.test")], Content("quiet"), rcptParameters: " NOTIFY=NEVER");
        var fromNull = await world.SendAsync("", [Unique("reject", "good.test")], Content("a bounce that bounces"));
        await world.WaitFinalAsync(quiet);
        await world.WaitFinalAsync(fromNull);
        await Task.Delay(500);
        Assert.Empty(world.Bounces(sender));
        Assert.DoesNotContain(await world.Host.Store.ListAsync(null, 10_000, default),
            m => m.Envelope.Sender.Length == 0 && m.Deliveries.Any(d => d.Recipient.Length == 0));
    }

    [Fact]
    public async Task Dsn_parameters_are_passed_on_to_a_server_that_offers_dsn()
    {
        var rcpt = Unique("dsn", "good.test");
        var id = await world.SendAsync("sender@sender.test", [rcpt], Content("dsn"), mailParameters: " RET=HDRS ENVID=abc", rcptParameters: " NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig+40good.test");
        await world.WaitFinalAsync(id);
        var received = Assert.Single(For(world.Mx.Received(Accept), rcpt));
        // aiosmtpd does not offer DSN: nothing is passed on, and NOTIFY=SUCCESS asks us for a "relayed" DSN instead
        Assert.DoesNotContain(received.MailOptions, o => o.StartsWith("RET", StringComparison.Ordinal));
        var bounce = Assert.Single(await WaitForBouncesAsync("sender@sender.test", 1) is var all ? all.Where(b => b.Text.Contains(rcpt, StringComparison.Ordinal)) : []);
        Assert.Contains("Action: relayed", bounce.Text);
        Assert.Contains("Original-Recipient: rfc822;orig@good.test", bounce.Text);
        Assert.Contains("Original-Envelope-Id: abc", bounce.Text);
    }
}
