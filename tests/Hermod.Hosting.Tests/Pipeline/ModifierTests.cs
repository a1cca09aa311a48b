using System.Text;
using Hermod.Hosting.TestKit;
using Hermod.Hosting.Tests.Interop;

namespace Hermod.Hosting.Tests.Pipeline;

/// <summary>Modifiers configured in hermod.yaml: envelope rewrites and alias expansion in the stored rows, header edits and DKIM signatures in the stored message.</summary>
public sealed class ModifierTests
{
    [Fact]
    public async Task Envelope_and_header_modifiers_show_in_the_stored_rows_and_message_and_leave_the_rest_byte_exact()
    {
        await using var host = new PipelineHost();
        var aliases = host.WriteFile("aliases", "# team list\nteam@example.test: alice@example.test, bob@example.test\n");
        await host.StartAsync(new PipelineSetup
        {
            MxPipeline = "inbound",
            Pipelines = $$"""
                inbound:
                  modifiers:
                    - rewrite_sender: { pattern: "^(.*)@internal\\.test$", replacement: "$1@example.test" }
                    - remove_plus_address: { separator: "+" }
                    - alias: { table: "{{aliases}}" }
                    - remove_header: { names: [X-Internal, X-Debug] }
                    - add_header: { name: X-Scanned-By, value: "hermod pipeline" }
                """,
        });

        const string kept =
            "Received: from upstream.remote.test by relay.remote.test; Mon, 1 Jan 2024 00:00:00 +0000\r\n" +
            "From: Carol <carol@internal.test>\r\n";
        const string keptToo =
            "To: team+news@example.test\r\n" +
            "Subject: modifiers, end to end\r\n" +
            "Message-ID: <modifiers@internal.test>\r\n";
        const string body =
            "\r\n" +
            "X-Internal: a body line, not a header field\r\n" +
            "caf\u00e9 \u2713 and trailing spaces   \r\n" +
            "\r\n";
        var wire = kept + "X-Internal: secret routing\r\n" + "x-internal: folded\r\n\tover two lines\r\n" + keptToo + "X-Debug: 1\r\n" + body;

        string id;
        await using (var smtp = await host.ConnectAsync())
        {
            await smtp.SendAndExpectAsync("MAIL FROM:<carol@internal.test> BODY=8BITMIME", "250");
            await smtp.SendAndExpectAsync("RCPT TO:<team+news@example.test>", "250");
            await smtp.SendAndExpectAsync("RCPT TO:<dave+tag@example.test>", "250");
            await smtp.SendAndExpectAsync("DATA", "354");
            await smtp.SendAsync(wire + ".\r\n");
            id = StoredContent.QueueIdFrom(await smtp.ExpectAsync("250"));
        }

        var stored = await host.GetAsync(id);
        Assert.Equal("carol@example.test", stored.Envelope.Sender);
        Assert.Equal(
            [
                ("alice@example.test", "rfc822;team+news@example.test", "example.test"),
                ("bob@example.test", "rfc822;team+news@example.test", "example.test"),
                ("dave@example.test", "rfc822;dave+tag@example.test", "example.test"),
            ],
            stored.Deliveries.Select(d => (d.Recipient, d.OriginalRecipient, d.Route)).Order());

        var show = await host.CliAsync("queue", "show", id, "--raw");
        Assert.Equal(await host.ContentAsync(id), show.StdoutBytes);
        var content = StoredContent.Split(show.StdoutBytes);
        var expected = "X-Scanned-By: hermod pipeline\r\n" + kept + keptToo + body; // added at the top; the removed fields gone, folded lines too
        Assert.Equal(expected, content.BodyText);
        Assert.Equal(Encoding.UTF8.GetBytes(body), content.Body[^Encoding.UTF8.GetByteCount(body)..]);

        var list = await host.CliAsync("queue", "show", id);
        Assert.Contains("sender: <carol@example.test>", list.Stdout);
        Assert.Contains("recipient: <alice@example.test> queued attempts=0 orcpt=rfc822;team+news@example.test", list.Stdout);
    }

    [Theory]
    [InlineData("rsa2048", "rsa-sha256")]
    [InlineData("ed25519", "ed25519-sha256")]
    public async Task Dkim_sign_on_the_submission_listener_writes_a_signature_dkimpy_verifies(string algorithm, string a)
    {
        await using var host = new PipelineHost();
        var selector = "s" + algorithm;
        var keygen = await CliRunner.RunAsync(["dkim", "keygen", "--domain", "example.test", "--selector", selector, "--algorithm", algorithm,
            "--dir", Path.Combine(host.Work, "dkim")]);
        Assert.True(keygen.ExitCode == 0, $"hermod dkim keygen: {keygen.Describe()}");
        var lines = keygen.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var keyFile = lines.Single(l => l.StartsWith("private key: ", StringComparison.Ordinal))["private key: ".Length..];
        var recordName = $"{selector}._domainkey.example.test";
        Assert.Contains($"publish this TXT record at {recordName}:", lines);
        var recordText = lines[^1];
        Assert.StartsWith("v=DKIM1;", recordText);

        await host.StartAsync(new PipelineSetup
        {
            SubmissionPipeline = "outbound",
            Pipelines = $$"""
                outbound:
                  modifiers:
                    - add_header: { name: X-Submitted-Through, value: hermod }
                    - dkim_sign:
                        keys:
                          - { domain: example.test, selector: {{selector}}, key: "{{keyFile}}" }
                """,
        });

        const string message =
            "From: Alice <alice@example.test>\r\n" +
            "To: Bob <bob@remote.test>\r\n" +
            "Subject: signed on the way out\r\n" +
            "Date: Sat, 22 Nov 2025 12:00:00 +0000\r\n" +
            "Message-ID: <dkim-e2e@example.test>\r\n" +
            "\r\n" +
            "Hi Bob,  \r\n" +
            "\r\n" +
            "this one is signed.\r\n";
        string id;
        await using (var smtp = await host.LoginAsync())
            id = await PipelineHost.SendAsync(smtp, "alice@example.test", ["bob@remote.test"], message + ".\r\n");
        Assert.Equal("alice", (await host.GetAsync(id)).Envelope.Source.AuthUser);

        var stored = await host.ContentAsync(id);
        var content = StoredContent.Split(stored);
        Assert.StartsWith("DKIM-Signature: ", content.BodyText);
        Assert.EndsWith("X-Submitted-Through: hermod\r\n" + message, content.BodyText); // signed last: on top of the added field

        var records = new Dictionary<string, string> { [recordName] = recordText };
        var (signatures, queries) = await PipelinePeers.DkimVerifyAsync(stored, records);
        Assert.Equal([("example.test", selector, a, true, "")], signatures);
        Assert.Contains(recordName, queries);

        // the verifier can say no: one changed byte of the body
        var tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(stored).Replace("this one is signed.", "this one is signed!", StringComparison.Ordinal));
        var failed = Assert.Single((await PipelinePeers.DkimVerifyAsync(tampered, records)).Signatures);
        Assert.Equal(("example.test", selector, a, false), (failed.Domain, failed.Selector, failed.Algorithm, failed.Ok));
        Assert.StartsWith("body hash mismatch", failed.Reason);
    }
}
