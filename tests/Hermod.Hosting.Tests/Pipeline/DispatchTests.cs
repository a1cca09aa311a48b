using System.Text;
using System.Text.Json;
using Hermod.Core.Storage;
using Hermod.Hosting.Tests.Interop;

namespace Hermod.Hosting.Tests.Pipeline;

/// <summary>
/// Pipelines configured in hermod.yaml deciding at RCPT, end to end: a recipient check, destination blocks (refusal,
/// discard, several targets), source blocks (authenticated user, sender domain), all seen by real clients and in the
/// stored rows.
/// </summary>
public sealed class DispatchTests
{
    private const string Message = "From: sender@remote.test\r\nTo: someone@example.test\r\nSubject: dispatch\r\n\r\nHello.\r\n";

    private static string[] Addresses(JsonElement row) =>
        [.. row.GetProperty("recipients").EnumerateArray().Select(r => r.GetProperty("address").GetString()!)];

    [Fact]
    public async Task Recipient_exists_refuses_an_unknown_local_recipient_at_RCPT_and_only_the_known_one_is_stored()
    {
        await using var host = new PipelineHost();
        var users = host.WriteFile("users", "# the local users\nknown@example.test\n");
        await host.StartAsync(new PipelineSetup
        {
            MxPipeline = "inbound",
            Pipelines = $$"""
                inbound:
                  checks:
                    - recipient_exists: { table: "{{users}}" }
                """,
        });

        var content = Encoding.ASCII.GetBytes(Message);
        var sent = await PipelinePeers.SmtplibSendAsync(host.Smtp(), "sender@remote.test", ["nobody@example.test", "known@example.test"], content);
        Assert.Equal(250, sent.Mail.Code);
        Assert.Equal(new PeerReply(550, "5.1.1 No such user"), sent.Rcpt["nobody@example.test"]); // at RCPT, before any DATA
        Assert.Equal(250, sent.Rcpt["known@example.test"].Code);
        Assert.NotNull(sent.Data);
        var id = StoredContent.QueueIdFrom(sent.Data.ToString());

        var row = Assert.Single((await host.QueueListAsync()).EnumerateArray());
        Assert.Equal(id, row.GetProperty("id").GetString());
        Assert.Equal("sender@remote.test", row.GetProperty("sender").GetString());
        Assert.Equal(["known@example.test"], Addresses(row));
        Assert.Equal("queued", row.GetProperty("state").GetString());
        Assert.Equal(content, StoredContent.Split(await host.ContentAsync(id)).Body);
    }

    /// <summary>One pipeline for both listeners: refusals, discard, and two targets by recipient.</summary>
    private static async Task<PipelineHost> DestinationHostAsync()
    {
        var host = new PipelineHost();
        try
        {
            await host.StartAsync(new PipelineSetup
            {
                MxPipeline = "dispatch",
                SubmissionPipeline = "dispatch",
                Targets = $$"""
                    mailboxes: { type: maildir, path: "{{host.Work}}/mail/{domain}/{user}" }
                    archive: { type: http, url: "http://127.0.0.1:9/archive" }
                    """,
                Pipelines = """
                    dispatch:
                      destination:
                        - match: [abuse@example.test]
                          reject: { code: 553, enhanced: 5.7.26, text: "Use the web form at example.test/abuse" }
                        - match: [null@example.test, blackhole@example.test]
                          deliver_to: [discard]
                        - match: [example.test]
                          deliver_to: [mailboxes, archive]
                      default: { reject: { code: 550, enhanced: 5.7.1, text: "Relay denied by dispatch" } }
                    """,
            });
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    [Fact]
    public async Task A_destination_reject_is_the_RCPT_reply_exactly_and_the_default_refuses_the_rest()
    {
        await using var host = await DestinationHostAsync();
        await using (var smtp = await host.ConnectAsync())
        {
            await smtp.SendAndExpectAsync("MAIL FROM:<sender@remote.test>", "250");
            Assert.Equal("553 5.7.26 Use the web form at example.test/abuse", await smtp.SendAndExpectAsync("RCPT TO:<abuse@example.test>", "553"));
            Assert.Equal("553 5.7.26 Use the web form at example.test/abuse", await smtp.SendAndExpectAsync("RCPT TO:<Abuse@EXAMPLE.test>", "553"));
            await smtp.SendAndExpectAsync("RCPT TO:<user@example.test>", "250");
            await smtp.SendAndExpectAsync("DATA", "354");
            await smtp.SendAsync(Message + ".\r\n");
            var id = StoredContent.QueueIdFrom(await smtp.ExpectAsync("250"));
            Assert.Equal(["user@example.test", "user@example.test"], (await host.GetAsync(id)).Deliveries.Select(d => d.Recipient));
        }

        await using (var smtp = await host.LoginAsync()) // an authenticated user may relay, but this pipeline's default refuses
        {
            await smtp.SendAndExpectAsync("MAIL FROM:<alice@example.test>", "250");
            Assert.Equal("550 5.7.1 Relay denied by dispatch", await smtp.SendAndExpectAsync("RCPT TO:<bob@elsewhere.test>", "550"));
            await smtp.SendAndExpectAsync("DATA", "554"); // no valid recipients
        }
    }

    [Fact]
    public async Task Discard_accepts_the_message_and_stores_nothing_when_every_recipient_is_discarded()
    {
        await using var host = await DestinationHostAsync();
        await using (var smtp = await host.ConnectAsync())
        {
            await smtp.SendAndExpectAsync("MAIL FROM:<sender@remote.test>", "250");
            await smtp.SendAndExpectAsync("RCPT TO:<null@example.test>", "250");
            await smtp.SendAndExpectAsync("RCPT TO:<blackhole@example.test>", "250");
            await smtp.SendAndExpectAsync("DATA", "354");
            await smtp.SendAsync(Message + ".\r\n");
            var reply = await smtp.ExpectAsync("250 2.0.0");
            Assert.DoesNotContain("queued as", reply);
            await smtp.SendAndExpectAsync("QUIT", "221");
        }

        Assert.Empty((await host.QueueListAsync()).EnumerateArray());
        Assert.Empty(await host.Store.ListAsync(null, 100, CancellationToken.None));
    }

    [Fact]
    public async Task A_recipient_with_two_targets_gets_one_delivery_per_target_and_a_discarded_one_none()
    {
        await using var host = await DestinationHostAsync();
        string id;
        await using (var smtp = await host.ConnectAsync())
            id = await PipelineHost.SendAsync(smtp, "sender@remote.test", ["user@example.test", "null@example.test"], Message + ".\r\n");

        var stored = await host.GetAsync(id);
        Assert.Equal(
            [("user@example.test", "archive:example.test"), ("user@example.test", "mailboxes:example.test")],
            stored.Deliveries.Select(d => (d.Recipient, d.Route)).Order());
        Assert.All(stored.Deliveries, d => Assert.Equal(DeliveryState.Queued, d.State)); // delivery is off: held in the queue
        var row = Assert.Single((await host.QueueListAsync()).EnumerateArray());
        Assert.Equal(["user@example.test", "user@example.test"], Addresses(row));
    }

    [Fact]
    public async Task Source_blocks_send_an_authenticated_user_and_a_partner_domain_to_their_own_targets()
    {
        await using var host = new PipelineHost();
        await host.StartAsync(new PipelineSetup
        {
            MxPipeline = "shared",
            SubmissionPipeline = "shared",
            Targets = $$"""
                smarthost: { type: relay, host: "127.0.0.1:9", tls: none }
                partners: { type: maildir, path: "{{host.Work}}/partners/{user}" }
                """,
            Pipelines = """
                shared:
                  source:
                    - match: [partner.test]
                      deliver_to: [partners]
                    - users: [alice]
                      deliver_to: [smarthost]
                  default: { deliver_to: [remote] }
                """,
        });

        string fromAlice, fromAliceAsPartner, fromPartner, fromStranger;
        await using (var smtp = await host.LoginAsync())
        {
            fromAlice = await PipelineHost.SendAsync(smtp, "alice@example.test", ["bob@remote.test", "carol@example.test"], Message + ".\r\n");
            // the authenticated user ranks above the sender's domain
            fromAliceAsPartner = await PipelineHost.SendAsync(smtp, "alice@partner.test", ["dave@remote.test"], Message + ".\r\n");
        }
        await using (var smtp = await host.ConnectAsync()) // ingress, unauthenticated
        {
            fromPartner = await PipelineHost.SendAsync(smtp, "news@partner.test", ["user@example.test"], Message + ".\r\n");
            fromStranger = await PipelineHost.SendAsync(smtp, "someone@other.test", ["user@example.test"], Message + ".\r\n");
        }

        async Task<string[]> Routes(string id) => [.. (await host.GetAsync(id)).Deliveries.Select(d => $"{d.Recipient} {d.Route}").Order()];
        Assert.Equal(["bob@remote.test smarthost:remote.test", "carol@example.test smarthost:example.test"], await Routes(fromAlice));
        Assert.Equal(["dave@remote.test smarthost:remote.test"], await Routes(fromAliceAsPartner));
        Assert.Equal(["user@example.test partners:example.test"], await Routes(fromPartner));
        Assert.Equal(["user@example.test example.test"], await Routes(fromStranger)); // the default: remote
        Assert.Equal("alice", (await host.GetAsync(fromAlice)).Envelope.Source.AuthUser);
    }
}
