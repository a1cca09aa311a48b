using System.Text;
using System.Text.Json;
using Hermod.Core.Storage;
using Hermod.Smtp.Client;

namespace Hermod.Smtp.Tests.Client;

/// <summary>The client against real SMTP servers: Postfix smtp-sink and Python aiosmtpd.</summary>
public sealed class ClientInteropTests : IDisposable
{
    private readonly CancellationTokenSource _testTimeout = new(TimeSpan.FromSeconds(90));

    private CancellationToken Ct => _testTimeout.Token;

    public void Dispose() => _testTimeout.Dispose();

    private static SmtpClientOptions Options(Action<SmtpClientOptions>? configure = null) => SmtpClientConnectionTests.Options(configure);

    private async Task<SmtpClientConnection> ConnectAsync(System.Net.IPEndPoint endPoint, SmtpClientOptions? options = null)
    {
        var result = await SmtpClientConnection.ConnectAsync(endPoint, "peer.test", options ?? Options(), Ct);
        Assert.True(result.Succeeded, $"{result}\n{string.Join('\n', result.Transcript)}");
        return result.Connection;
    }

    /// <summary>smtp-sink writes lines with LF and un-stuffs dots; content without bare CR / LF maps one to one.</summary>
    private static byte[] AsSinkDumps(byte[] content) =>
        Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(content).Replace("\r\n", "\n", StringComparison.Ordinal) + "\n");

    private static string[] Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();

    // ---- Postfix smtp-sink ---------------------------------------------------------------------------------

    [Fact]
    public async Task SmtpSink_receives_three_recipients_with_DSN_parameters_in_one_pipelined_transaction()
    {
        await using var sink = await SmtpSinkPeer.StartAsync();
        var content = "Subject: three\r\n\r\n.one\r\n..two\r\nthree\r\n"u8.ToArray();
        var connection = await ConnectAsync(sink.EndPoint);
        Assert.True(connection.Capabilities.Pipelining);
        Assert.True(connection.Capabilities.Dsn);
        var message = new SmtpOutboundMessage("sender@example.test",
            [
                new EnvelopeRecipient("one@example.test", DsnNotify.Failure, "rfc822;one+tag@example.test"),
                new EnvelopeRecipient("two@example.test"),
                new EnvelopeRecipient("three@example.test", DsnNotify.Never),
            ], content.Length, (stream, ct) => stream.WriteAsync(content, ct).AsTask())
        {
            Body = BodyType.EightBitMime,
            Ret = DsnReturn.Full,
            EnvelopeId = "queue id=1",
        };
        var result = await connection.SendAsync(message, Ct);
        Assert.True(result.AllDelivered, result.ToString());
        await connection.QuitAsync(Ct);

        var dump = Assert.Single(await sink.DumpsAsync(1));
        Assert.Equal("<sender@example.test> BODY=8BITMIME RET=FULL ENVID=queue+20id+3D1", dump.MailArgs);
        Assert.Equal(
            ["<one@example.test> NOTIFY=FAILURE ORCPT=rfc822;one+2Btag@example.test", "<two@example.test>", "<three@example.test> NOTIFY=NEVER"],
            dump.RcptArgs);
        Assert.Equal(AsSinkDumps(content), dump.Content);
    }

    [Fact]
    public async Task SmtpSink_receives_a_1_MB_message_through_DATA_intact()
    {
        await using var sink = await SmtpSinkPeer.StartAsync();
        var content = SmtpClientConnectionTests.LargeContent(1024 * 1024);
        var connection = await ConnectAsync(sink.EndPoint);
        Assert.False(connection.Capabilities.Chunking); // so this is DATA with dot-stuffing
        var result = await connection.SendAsync(SmtpOutboundMessage.FromBytes("sender@example.test", [new("big@example.test")], content), Ct);
        Assert.True(result.AllDelivered, result.ToString());
        Assert.Equal(content.Length, result.ContentLength);
        await connection.QuitAsync(Ct);

        var dump = Assert.Single(await sink.DumpsAsync(1));
        Assert.True(AsSinkDumps(content).AsSpan().SequenceEqual(dump.Content), "the 1 MB content differs at smtp-sink");
    }

    [Fact]
    public async Task SmtpSink_takes_several_messages_on_one_connection()
    {
        await using var sink = await SmtpSinkPeer.StartAsync();
        var connection = await ConnectAsync(sink.EndPoint);
        var contents = Enumerable.Range(1, 3).Select(i => Encoding.ASCII.GetBytes($"Subject: message {i}\r\n\r\n{new string('x', i * 10)}\r\n")).ToArray();
        foreach (var (content, i) in contents.Select((c, i) => (c, i)))
        {
            if (i > 0)
                Assert.Equal(250, (await connection.ResetAsync(Ct)).Code);
            Assert.True((await connection.SendAsync(SmtpOutboundMessage.FromBytes("s@example.test", [new($"r{i}@example.test")], content), Ct)).AllDelivered);
        }
        Assert.Equal(3, connection.MessagesSent);
        await connection.QuitAsync(Ct);
        var dumps = await sink.DumpsAsync(3);
        Assert.Equal(contents.Select(AsSinkDumps).Select(Convert.ToHexString).Order(), dumps.Select(d => Convert.ToHexString(d.Content)).Order());
    }

    [Theory]
    [InlineData("-r", "RCPT", SmtpRecipientStatus.TemporaryFailure, false, true)]
    [InlineData("-f", "RCPT", SmtpRecipientStatus.PermanentFailure, false, true)]
    [InlineData("-f", ".", SmtpRecipientStatus.PermanentFailure, true, true)]
    [InlineData("-r", ".", SmtpRecipientStatus.TemporaryFailure, true, true)]
    [InlineData("-Q", "MAIL", SmtpRecipientStatus.TemporaryFailure, false, false)]
    public async Task SmtpSink_fault_injection_gives_the_expected_outcome(string flag, string command, SmtpRecipientStatus status, bool contentSent, bool usable)
    {
        await using var sink = await SmtpSinkPeer.StartAsync(flag, command);
        var connection = await ConnectAsync(sink.EndPoint);
        var content = "Subject: faults\r\n\r\nbody\r\n"u8.ToArray();
        var result = await connection.SendAsync(SmtpOutboundMessage.FromBytes("s@example.test", [new("a@example.test"), new("b@example.test")], content), Ct);
        Assert.All(result.Recipients, r => Assert.Equal(status, r.Status));
        Assert.Equal(contentSent, result.FinalReply is not null);
        Assert.Equal(usable, connection.IsUsable);
        if (flag == "-Q")
            Assert.Equal(421, result.MailReply.Code);
        if (usable)
        {
            // The connection is back in step (RSET after the failure): a NOOP-like RSET still works.
            Assert.Equal(250, (await connection.ResetAsync(Ct)).Code);
            await connection.QuitAsync(Ct);
        }
        else
            await connection.DisposeAsync();
    }

    // ---- aiosmtpd ------------------------------------------------------------------------------------------

    [Fact]
    public async Task Aiosmtpd_reports_each_of_three_recipients_and_gets_the_content_byte_exact()
    {
        await using var peer = await AiosmtpdPeer.StartAsync("--reject", "gone@example.test", "--tempfail", "busy@example.test");
        var content = "Subject: aiosmtpd\r\n\r\n.dot line\r\n..two dots\r\n.\r\nend\r\n"u8.ToArray();
        var connection = await ConnectAsync(peer.EndPoint);
        var result = await connection.SendAsync(
            SmtpOutboundMessage.FromBytes("sender@example.test", [new("gone@example.test"), new("busy@example.test"), new("ok@example.test")], content), Ct);
        Assert.Equal([SmtpRecipientStatus.PermanentFailure, SmtpRecipientStatus.TemporaryFailure, SmtpRecipientStatus.Delivered],
            result.Recipients.Select(r => r.Status));
        Assert.Equal("5.1.1", result.Recipients[0].Reply.Enhanced.ToString());
        Assert.Equal("4.2.0", result.Recipients[1].Reply.Enhanced.ToString());
        Assert.Equal("Message accepted for delivery", result.Recipients[2].Reply.Text);
        await connection.QuitAsync(Ct);

        var (envelope, received) = await peer.MessageAsync(1);
        Assert.Equal("sender@example.test", envelope.GetProperty("mail_from").GetString());
        Assert.Equal(["ok@example.test"], Strings(envelope.GetProperty("rcpt_tos")));
        Assert.Equal([$"SIZE={content.Length}"], Strings(envelope.GetProperty("mail_options")));
        Assert.Equal(content, received);
    }

    [Fact]
    public async Task Aiosmtpd_receives_a_1_MB_message_byte_exact()
    {
        await using var peer = await AiosmtpdPeer.StartAsync();
        var content = SmtpClientConnectionTests.LargeContent(1024 * 1024);
        var connection = await ConnectAsync(peer.EndPoint);
        var message = new SmtpOutboundMessage("sender@example.test", [new("big@example.test")], content.Length, async (stream, ct) =>
        {
            using var source = new MemoryStream(content, writable: false);
            await source.CopyToAsync(stream, 7919, ct); // odd-sized copies: lines are cut anywhere
        })
        {
            Body = BodyType.EightBitMime,
        };
        var result = await connection.SendAsync(message, Ct);
        Assert.True(result.AllDelivered, result.ToString());
        await connection.QuitAsync(Ct);

        var (envelope, received) = await peer.MessageAsync(1);
        Assert.Equal([$"SIZE={content.Length}", "BODY=8BITMIME"], Strings(envelope.GetProperty("mail_options")));
        Assert.True(content.AsSpan().SequenceEqual(received), "the 1 MB content differs at aiosmtpd");
    }

    [Fact]
    public async Task Aiosmtpd_receives_an_SMTPUTF8_message_with_UTF8_addresses()
    {
        await using var peer = await AiosmtpdPeer.StartAsync();
        var content = Encoding.UTF8.GetBytes("From: Jürgen <jürgen@bücher.test>\r\nSubject: Grüße aus Köln\r\n\r\nÄpfel, Öl und Übermut.\r\n.ß\r\n");
        var connection = await ConnectAsync(peer.EndPoint);
        Assert.True(connection.Capabilities.SmtpUtf8);
        var message = new SmtpOutboundMessage("jürgen@bücher.test", [new("δοκιμή@παράδειγμα.test"), new("ascii@example.test")], content.Length,
            (stream, ct) => stream.WriteAsync(content, ct).AsTask())
        {
            Body = BodyType.EightBitMime,
            SmtpUtf8 = true,
        };
        Assert.True((await connection.SendAsync(message, Ct)).AllDelivered);
        await connection.QuitAsync(Ct);

        var (envelope, received) = await peer.MessageAsync(1);
        Assert.Equal("jürgen@bücher.test", envelope.GetProperty("mail_from").GetString());
        Assert.Equal(["δοκιμή@παράδειγμα.test", "ascii@example.test"], Strings(envelope.GetProperty("rcpt_tos")));
        Assert.Contains("SMTPUTF8", Strings(envelope.GetProperty("mail_options")));
        Assert.True(envelope.GetProperty("smtp_utf8").GetBoolean());
        Assert.Equal(content, received);
    }

    [Fact]
    public async Task Aiosmtpd_STARTTLS_and_AUTH_PLAIN()
    {
        var certDir = ClientPeers.TempDirectory("tls");
        try
        {
            var (cert, key) = TestCertificate.WritePem(certDir);
            await using var peer = await AiosmtpdPeer.StartAsync("--tls-cert", cert, "--tls-key", key, "--auth", "relay:pass word");
            var connection = await ConnectAsync(peer.EndPoint, Options(o =>
            {
                o.TlsPolicy = TlsPolicy.Required;
                o.AcceptAnyCertificate = true;
                o.Credentials = new SmtpClientCredentials("relay", "pass word");
            }));
            Assert.True(connection.IsTls);
            Assert.True(connection.IsAuthenticated);
            var content = "Subject: over TLS\r\n\r\nsecret\r\n"u8.ToArray();
            Assert.True((await connection.SendAsync(SmtpOutboundMessage.FromBytes("s@example.test", [new("r@example.test")], content), Ct)).AllDelivered);
            await connection.QuitAsync(Ct);

            var (envelope, received) = await peer.MessageAsync(1);
            Assert.True(envelope.GetProperty("tls").GetBoolean());
            Assert.Equal("relay", envelope.GetProperty("auth").GetString());
            Assert.Equal(content, received);
            Assert.DoesNotContain(connection.Transcript.Lines, l => l.Contains("pass word", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(certDir, recursive: true);
        }
    }

    [Fact]
    public async Task Aiosmtpd_wrong_password_is_a_failure_result()
    {
        var certDir = ClientPeers.TempDirectory("tls");
        try
        {
            var (cert, key) = TestCertificate.WritePem(certDir);
            await using var peer = await AiosmtpdPeer.StartAsync("--tls-cert", cert, "--tls-key", key, "--auth", "relay:right");
            var result = await SmtpClientConnection.ConnectAsync(peer.EndPoint, "peer.test", Options(o =>
            {
                o.TlsPolicy = TlsPolicy.Opportunistic;
                o.Credentials = new SmtpClientCredentials("relay", "wrong");
            }), Ct);
            Assert.False(result.Succeeded);
            Assert.Equal(SmtpClientStage.Auth, result.Stage);
            Assert.True(result.FromServer);
            Assert.Equal(535, result.Reply.Code);
        }
        finally
        {
            Directory.Delete(certDir, recursive: true);
        }
    }

    [Fact]
    public async Task Aiosmtpd_after_a_transaction_with_no_accepted_recipient_the_next_one_goes_through()
    {
        await using var peer = await AiosmtpdPeer.StartAsync("--reject", "gone@example.test");
        var connection = await ConnectAsync(peer.EndPoint);
        var content = "Subject: second try\r\n\r\nok\r\n"u8.ToArray();
        var failed = await connection.SendAsync(SmtpOutboundMessage.FromBytes("s@example.test", [new("gone@example.test")], content), Ct);
        Assert.Null(failed.FinalReply);
        Assert.Equal(SmtpRecipientStatus.PermanentFailure, failed.Recipients[0].Status);
        var ok = await connection.SendAsync(SmtpOutboundMessage.FromBytes("s@example.test", [new("here@example.test")], content), Ct);
        Assert.True(ok.AllDelivered);
        await connection.QuitAsync(Ct);
        Assert.Equal(1, peer.MessageCount);
        Assert.Equal(content, (await peer.MessageAsync(1)).Content);
    }
}
