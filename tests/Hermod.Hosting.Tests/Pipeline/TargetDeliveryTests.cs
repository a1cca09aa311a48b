using System.Text;
using System.Text.Json;
using Hermod.Core.Storage;
using Hermod.Hosting.Tests.Interop;
using Hermod.TestKit;

namespace Hermod.Hosting.Tests.Pipeline;

/// <summary>
/// Delivery on: what the pipeline dispatched arrives at real sinks — Maildirs read back with Python's mailbox module, a
/// Python HTTP receiver, an aiosmtpd smarthost — byte-exact as stored.
/// </summary>
public sealed class TargetDeliveryTests
{
    /// <summary>As the client sends it: a dot-stuffed line, spaces at line ends, an empty line before the end.</summary>
    private const string Wire =
        "From: Sender <sender@remote.test>\r\n" +
        "To: alice@example.test, bob@example.test\r\n" +
        "Subject: to the mailboxes\r\n" +
        "Message-ID: <pipeline-1@remote.test>\r\n" +
        "\r\n" +
        "First line.  \r\n" +
        "..a line that starts with a dot\r\n" +
        "\tindented\r\n" +
        "\r\n" +
        ".\r\n";

    /// <summary><see cref="Wire"/> as stored: dot-stuffing removed, the end-of-data line gone.</summary>
    private static readonly byte[] Sent = Encoding.ASCII.GetBytes(Wire[..^3].Replace("\r\n..", "\r\n.", StringComparison.Ordinal));

    private static void AssertIsStoredMessage(byte[] expectedStored, byte[] delivered, string where)
    {
        Assert.True(expectedStored.AsSpan().SequenceEqual(delivered),
            $"{where} differs from the stored message:\n--- stored ---\n{Encoding.UTF8.GetString(expectedStored)}\n--- delivered ---\n{Encoding.UTF8.GetString(delivered)}");
        var split = StoredContent.Split(delivered);
        Assert.Contains("by mx.example.test (Hermod)", split.Received);
        Assert.Equal(Sent, split.Body); // byte-exact apart from Hermod's Received header
    }

    [Fact]
    public async Task Maildir_target_puts_each_local_users_copy_into_their_maildir_under_the_path_template()
    {
        await using var host = new PipelineHost();
        await host.StartAsync(new PipelineSetup
        {
            MxPipeline = "local",
            Delivery = true,
            Targets = $$"""
                mailboxes: { type: maildir, path: "{{host.Work}}/mail/{domain}/{user}" }
                """,
            Pipelines = """
                local:
                  deliver_to: [mailboxes]
                """,
        });

        string id;
        await using (var smtp = await host.ConnectAsync())
            id = await PipelineHost.SendAsync(smtp, "sender@remote.test", ["alice@example.test", "Bob@Example.TEST"], Wire);
        var final = await host.WaitFinalAsync(id);
        Assert.All(final.Deliveries, d =>
        {
            Assert.Equal(DeliveryState.Delivered, d.State);
            Assert.Equal("mailboxes:example.test", d.Route);
            Assert.Equal(1, d.Attempts);
        });

        var stored = await host.ContentAsync(id);
        foreach (var user in new[] { "alice", "bob" }) // {user} and {domain} in lower case
        {
            var box = Assert.Single(await PipelinePeers.ReadMaildirAsync(Path.Combine(host.Work, "mail", "example.test", user)));
            Assert.True(box.InNew, $"{user}'s message is not in new/");
            AssertIsStoredMessage(stored, box.Content, $"{user}'s maildir copy");
        }
        Assert.Equal(["alice", "bob"], Directory.GetDirectories(Path.Combine(host.Work, "mail", "example.test")).Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task Http_target_answering_503_then_200_is_deferred_then_delivered_after_queue_retry()
    {
        await using var receiver = await HttpReceiver.StartAsync("503,200");
        await using var host = new PipelineHost();
        await host.StartAsync(new PipelineSetup
        {
            MxPipeline = "archiving",
            Delivery = true, // retry.min is an hour: the second attempt comes only from `queue retry`
            Targets = $$"""
                archive:
                  type: http
                  url: "{{receiver.Url}}"
                  timeout: 10s
                  headers: { Authorization: "Bearer pipeline-test" }
                """,
            Pipelines = """
                archiving:
                  deliver_to: [archive]
                """,
        });

        string id;
        await using (var smtp = await host.ConnectAsync())
            id = await PipelineHost.SendAsync(smtp, "sender@remote.test", ["alice@example.test", "bob@example.test"], Wire);

        var deferred = await host.WaitAsync(id, m => m.Deliveries.All(d => d.State == DeliveryState.Deferred));
        Assert.All(deferred.Deliveries, d =>
        {
            Assert.Equal("archive:example.test", d.Route);
            Assert.Equal(1, d.Attempts);
            Assert.Equal((451, "4.0.0"), (d.LastReply!.Reply.Code, d.LastReply.Reply.Enhanced.ToString()));
            Assert.StartsWith("503 from 127.0.0.1", d.LastReply.Reply.Text);
            Assert.True(d.NextAttempt > DateTimeOffset.UtcNow.AddMinutes(30), $"next attempt {d.NextAttempt}");
        });
        Assert.Equal(1, receiver.RequestCount); // one request for both recipients

        var retry = await host.CliAsync("queue", "retry", id);
        Assert.Contains("2 recipient(s) due now", retry.Stdout);
        var delivered = await host.WaitAsync(id, m => m.Deliveries.All(d => d.State == DeliveryState.Delivered));
        Assert.All(delivered.Deliveries, d => Assert.Equal(2, d.Attempts));
        Assert.Equal(2, receiver.RequestCount);

        var stored = await host.ContentAsync(id);
        foreach (var n in new[] { 1, 2 })
        {
            var request = await receiver.ReceivedAsync(n);
            Assert.Equal("Bearer pipeline-test", request.Header("Authorization"));
            AssertIsStoredMessage(stored, request.Message, $"request {n}");
            using var envelope = JsonDocument.Parse(request.Envelope);
            var e = envelope.RootElement;
            Assert.Equal(id, e.GetProperty("id").GetString());
            Assert.Equal("sender@remote.test", e.GetProperty("sender").GetString());
            Assert.Equal(["alice@example.test", "bob@example.test"], e.GetProperty("recipients").EnumerateArray().Select(r => r.GetString()!));
            Assert.Equal("example.test", e.GetProperty("domain").GetString());
            Assert.Equal("mx", e.GetProperty("source").GetProperty("listener").GetString());
            Assert.Equal("client.test", e.GetProperty("source").GetProperty("helo").GetString());
        }
    }

    [Fact]
    public async Task A_recipient_with_a_maildir_and_an_http_archive_gets_both_copies()
    {
        await using var receiver = await HttpReceiver.StartAsync("200");
        await using var host = new PipelineHost();
        await host.StartAsync(new PipelineSetup
        {
            MxPipeline = "inbound",
            Delivery = true,
            Targets = $$"""
                mailboxes: { type: maildir, path: "{{host.Work}}/mail/{user}" }
                archive: { type: http, url: "{{receiver.Url}}", timeout: 10s }
                """,
            Pipelines = """
                inbound:
                  destination:
                    - match: [alice@example.test]
                      deliver_to: [mailboxes, archive]
                    - match: [example.test]
                      deliver_to: [mailboxes]
                  default: { deliver_to: [remote] }
                """,
        });

        string id;
        await using (var smtp = await host.ConnectAsync())
            id = await PipelineHost.SendAsync(smtp, "sender@remote.test", ["alice@example.test", "bob@example.test"], Wire);
        var final = await host.WaitFinalAsync(id);
        Assert.Equal(
            ["alice@example.test archive:example.test Delivered", "alice@example.test mailboxes:example.test Delivered", "bob@example.test mailboxes:example.test Delivered"],
            final.Deliveries.Select(d => $"{d.Recipient} {d.Route} {d.State}").Order());

        var stored = await host.ContentAsync(id);
        AssertIsStoredMessage(stored, Assert.Single(await PipelinePeers.ReadMaildirAsync(Path.Combine(host.Work, "mail", "alice"))).Content, "alice's maildir copy");
        AssertIsStoredMessage(stored, Assert.Single(await PipelinePeers.ReadMaildirAsync(Path.Combine(host.Work, "mail", "bob"))).Content, "bob's maildir copy");
        var archived = await receiver.ReceivedAsync(1);
        AssertIsStoredMessage(stored, archived.Message, "the archived copy");
        using var envelope = JsonDocument.Parse(archived.Envelope);
        Assert.Equal(["alice@example.test"], envelope.RootElement.GetProperty("recipients").EnumerateArray().Select(r => r.GetString()!));
        Assert.Equal(1, receiver.RequestCount);
    }

    [Fact]
    public async Task A_relay_target_hands_the_message_to_the_smarthost_once()
    {
        const string smarthost = "127.0.0.1";
        await using var mx = await FakeMx.StartAsync(new Dictionary<string, string> { [smarthost] = "accept" });
        await using var host = new PipelineHost();
        await host.StartAsync(new PipelineSetup
        {
            SubmissionPipeline = "outbound",
            Delivery = true,
            Targets = $$"""
                smarthost: { type: relay, host: "{{smarthost}}:{{mx.Port}}" }
                """,
            Pipelines = """
                outbound:
                  deliver_to: [smarthost]
                """,
        });

        string id;
        await using (var smtp = await host.LoginAsync())
            id = await PipelineHost.SendAsync(smtp, "alice@example.test", ["bob@remote.test", "carol@remote.test"], Wire);
        var final = await host.WaitFinalAsync(id);
        Assert.All(final.Deliveries, d =>
        {
            Assert.Equal(DeliveryState.Delivered, d.State);
            Assert.Equal("smarthost:remote.test", d.Route);
            Assert.Equal(smarthost, d.LastReply?.RemoteHost);
        });

        var received = Assert.Single(await mx.WaitForAsync(smarthost, 1, PipelineHost.Wait)); // one transaction for both
        Assert.Equal("alice@example.test", received.MailFrom);
        Assert.Equal(["bob@remote.test", "carol@remote.test"], received.Recipients);
        AssertIsStoredMessage(await host.ContentAsync(id), received.Content, "the smarthost's copy");
        await Task.Delay(500);
        Assert.Single(mx.Received(smarthost)); // and no second copy
    }
}
