using Hermod.Dns;
using Hermod.Hosting.Tests.Interop;
using Hermod.TestKit;

namespace Hermod.Hosting.Tests.Pipeline;

/// <summary>Built-in checks that ask DNS (a real dnsmasq serving the test records) refusing at their stage, or annotating the stored message.</summary>
public sealed class CheckTests
{
    private const string Message = "From: News <news@partner.test>\r\nTo: user@example.test\r\nSubject: checked\r\n\r\nHello.\r\n";

    /// <summary>partner.test lets 127.0.0.1 send; spoofed.test does not; 127.0.0.1 is client.partner.test both ways.</summary>
    private static Task<Dnsmasq> DnsAsync() => Dnsmasq.StartAsync(
        [
            "--local=/test/",
            "--txt-record=partner.test,v=spf1 ip4:127.0.0.1 -all",
            "--txt-record=spoofed.test,v=spf1 ip4:192.0.2.1 -all",
            "--host-record=client.partner.test,127.0.0.1",
        ], probe: "partner.test", DnsRecordType.TXT);

    [Fact]
    public async Task Spf_annotates_a_passing_sender_with_Authentication_Results_and_refuses_a_failing_one_at_MAIL()
    {
        await using var dns = await DnsAsync();
        await using var host = new PipelineHost();
        await host.StartAsync(new PipelineSetup
        {
            MxPipeline = "inbound",
            Dns = dns.EndPoint,
            Pipelines = """
                inbound:
                  checks:
                    - spf: { add_received_spf: true }
                """,
        });

        string id;
        await using (var smtp = await host.ConnectAsync())
        {
            var refused = await smtp.SendAndExpectAsync("MAIL FROM:<ceo@spoofed.test>", "550 5.7.23 ");
            Assert.Contains("spoofed.test does not designate 127.0.0.1", refused);
            id = await PipelineHost.SendAsync(smtp, "news@partner.test", ["user@example.test"], Message + ".\r\n");
        }

        var content = StoredContent.Split(await host.ContentAsync(id)).BodyText;
        Assert.StartsWith("Authentication-Results: mx.example.test; spf=pass smtp.mailfrom=partner.test\r\nReceived-SPF: pass (mx.example.test: domain of news@partner.test designates 127.0.0.1 as permitted sender)", content);
        Assert.EndsWith("\r\n" + Message, content); // the client's message follows the added fields unchanged
        Assert.Single(await host.Store.ListAsync(null, 10, CancellationToken.None));
    }

    /// <summary>
    /// fcrdns runs at the connection stage and annotates iprev; the annotation belongs in the message like every
    /// other check's (RFC 8601 section 2.7.3).
    /// </summary>
    [Fact]
    public async Task Fcrdns_annotation_from_the_connection_stage_is_stored_with_the_message()
    {
        await using var dns = await DnsAsync();
        await using var host = new PipelineHost();
        await host.StartAsync(new PipelineSetup
        {
            MxPipeline = "inbound",
            Dns = dns.EndPoint,
            Pipelines = """
                inbound:
                  checks: [fcrdns]
                """,
        });

        string id;
        await using (var smtp = await host.ConnectAsync()) // 127.0.0.1 is client.partner.test and back: the connection is accepted
            id = await PipelineHost.SendAsync(smtp, "news@partner.test", ["user@example.test"], Message + ".\r\n");

        var content = StoredContent.Split(await host.ContentAsync(id)).BodyText;
        Assert.StartsWith("Authentication-Results: mx.example.test; iprev=pass policy.iprev=127.0.0.1 (client.partner.test)\r\n", content);
    }
}
