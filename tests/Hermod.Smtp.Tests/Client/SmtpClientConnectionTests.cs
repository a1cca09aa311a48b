using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Hermod.Core.Storage;
using Hermod.Smtp.Client;
using Hermod.Smtp.Protocol;

namespace Hermod.Smtp.Tests.Client;

/// <summary>The client against <see cref="FakeSmtpServer"/> scripts: every command and octet it sends is checked.</summary>
public sealed class SmtpClientConnectionTests : IDisposable
{
    private static readonly byte[] SimpleContent = "Subject: test\r\n\r\nHello\r\n"u8.ToArray();
    private readonly CancellationTokenSource _testTimeout = new(TimeSpan.FromSeconds(60));

    private CancellationToken Ct => _testTimeout.Token;

    public void Dispose() => _testTimeout.Dispose();

    internal static SmtpClientOptions Options(Action<SmtpClientOptions>? configure = null)
    {
        var options = new SmtpClientOptions
        {
            HeloName = "client.test",
            TlsPolicy = TlsPolicy.None,
            GreetingTimeout = TimeSpan.FromSeconds(15),
            CommandTimeout = TimeSpan.FromSeconds(15),
            DataInitiationTimeout = TimeSpan.FromSeconds(15),
            DataBlockTimeout = TimeSpan.FromSeconds(15),
            DataTerminationTimeout = TimeSpan.FromSeconds(15),
            TlsHandshakeTimeout = TimeSpan.FromSeconds(15),
        };
        configure?.Invoke(options);
        return options;
    }

    private async Task<SmtpClientConnection> ConnectAsync(FakeSmtpServer server, SmtpClientOptions? options = null)
    {
        var result = await SmtpClientConnection.ConnectAsync(server.EndPoint, "fake.test", options ?? Options(), Ct);
        Assert.True(result.Succeeded, $"{result}\n{string.Join('\n', result.Transcript)}");
        return result.Connection;
    }

    private static EnvelopeRecipient[] To(params string[] addresses) => addresses.Select(a => new EnvelopeRecipient(a)).ToArray();

    private static SmtpOutboundMessage Message(byte[] content, params string[] recipients) =>
        SmtpOutboundMessage.FromBytes("a@example.test", To(recipients), content);

    /// <summary>Reverses dot-stuffing of DATA as it came over the wire (terminator included), independently of the client.</summary>
    internal static byte[] Unstuff(byte[] wire)
    {
        var text = Encoding.Latin1.GetString(wire);
        Assert.EndsWith(".\r\n", text, StringComparison.Ordinal);
        text = text == ".\r\n" ? "" : text[..^3];
        var lines = text.Split("\r\n");
        var body = string.Join("\r\n", lines.Select(l => l.StartsWith('.') ? l[1..] : l));
        return Encoding.Latin1.GetBytes(body);
    }

    [Fact]
    public async Task Falls_back_to_HELO_when_EHLO_is_refused_and_sends_no_extensions()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.ReplyAsync("220 old.test SMTP");
            await s.ExpectAsync("EHLO client.test", "502 5.5.1 Command not recognized");
            await s.ExpectAsync("HELO client.test", "250 old.test");
            await s.ExpectAsync("MAIL FROM:<a@example.test>", "250 OK");
            await s.ExpectAsync("RCPT TO:<b@example.test>", "250 OK");
            await s.ExpectAsync("DATA", "354 go ahead");
            Assert.Equal("Subject: test\r\n\r\nHello\r\n.\r\n", Encoding.ASCII.GetString(await s.ReadDataAsync()));
            await s.ReplyAsync("250 queued");
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server);
        Assert.False(connection.Capabilities.Esmtp);
        var message = new SmtpOutboundMessage("a@example.test", To("b@example.test"), SimpleContent.Length,
            (stream, ct) => stream.WriteAsync(SimpleContent, ct).AsTask())
        {
            Body = BodyType.EightBitMime,
        };
        var result = await connection.SendAsync(message, Ct);
        Assert.True(result.AllDelivered, result.ToString());
        Assert.Equal("queued", result.FinalReply!.Text);
        await connection.QuitAsync(Ct);
        await server.Completion;
    }

    [Fact]
    public async Task Pipelining_sends_MAIL_every_RCPT_and_DATA_in_one_write()
    {
        var recipients = new[] { "b@example.test", "c@example.test", "d@example.test" };
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("PIPELINING", "SIZE 100000", "8BITMIME");
            await s.ExpectAsync($"MAIL FROM:<a@example.test> SIZE={SimpleContent.Length} BODY=8BITMIME");
            var readsAfterMail = s.Reads;
            foreach (var r in recipients)
                await s.ExpectAsync($"RCPT TO:<{r}>");
            await s.ExpectAsync("DATA");
            // Nothing was answered yet, and no further socket read was needed: the batch came in one segment.
            Assert.Equal(readsAfterMail, s.Reads);
            Assert.Equal(0, s.Buffered);
            await s.ReplyAsync("250 2.1.0 OK", "250 2.1.5 OK", "250 2.1.5 OK", "250 2.1.5 OK", "354 go ahead");
            Assert.Equal(SimpleContent, Unstuff(await s.ReadDataAsync()));
            await s.ReplyAsync("250 2.0.0 queued");
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server);
        Assert.True(connection.Capabilities.Pipelining);
        Assert.Equal(100000, connection.Capabilities.MaxSize);
        var message = new SmtpOutboundMessage("a@example.test", To(recipients), SimpleContent.Length,
            (stream, ct) => stream.WriteAsync(SimpleContent, ct).AsTask())
        {
            Body = BodyType.EightBitMime,
        };
        var result = await connection.SendAsync(message, Ct);
        Assert.True(result.AllDelivered, result.ToString());
        Assert.Equal(SimpleContent.Length, result.ContentLength);
        await connection.QuitAsync(Ct);
        await server.Completion;
    }

    [Fact]
    public async Task Each_recipient_gets_its_own_outcome_and_reply()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("PIPELINING", "ENHANCEDSTATUSCODES");
            await s.ExpectPipelinedAsync("MAIL FROM:<a@example.test>", ["unknown@example.test", "busy@example.test", "ok@example.test"],
                "250 2.1.0 OK", "550 5.1.1 No such user", "451 4.2.0 Mailbox busy", "250 2.1.5 OK", "354 go ahead");
            await s.ReadDataAsync();
            await s.ReplyAsync("250 2.0.0 Ok: queued as ABC");
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server);
        var result = await connection.SendAsync(Message(SimpleContent, "unknown@example.test", "busy@example.test", "ok@example.test"), Ct);

        Assert.Equal([550, 451, 250], result.RecipientReplies.Select(r => r.Code));
        Assert.Equal(SmtpRecipientStatus.PermanentFailure, result.Recipients[0].Status);
        Assert.Equal("5.1.1", result.Recipients[0].Reply.Enhanced.ToString());
        Assert.Equal(SmtpRecipientStatus.TemporaryFailure, result.Recipients[1].Status);
        Assert.Equal("Mailbox busy", result.Recipients[1].Reply.Text);
        Assert.Equal(SmtpRecipientStatus.Delivered, result.Recipients[2].Status);
        Assert.Equal("Ok: queued as ABC", result.GetRecipientResult(2).Reply.Text);
        Assert.Equal("ok@example.test", result.Recipients[2].Recipient.Address);
        Assert.False(result.AllDelivered);
        Assert.Equal(1, connection.MessagesSent);
        Assert.True(connection.IsUsable);
        await connection.QuitAsync(Ct);
        await server.Completion;
    }

    [Fact]
    public async Task No_accepted_recipient_means_no_content_then_RSET_and_the_connection_goes_on()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("PIPELINING");
            await s.ExpectPipelinedAsync("MAIL FROM:<a@example.test>", ["x@example.test", "y@example.test"],
                "250 OK", "550 5.1.1 No", "552 4.5.3 Too many recipients", "554 5.5.1 No valid recipients");
            await s.ExpectAsync("RSET", "250 2.0.0 OK");
            await s.ExpectPipelinedAsync("MAIL FROM:<a@example.test>", ["z@example.test"], "250 OK", "250 OK", "354 go");
            await s.ReadDataAsync();
            await s.ReplyAsync("250 queued");
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server);
        var failed = await connection.SendAsync(Message(SimpleContent, "x@example.test", "y@example.test"), Ct);
        Assert.Null(failed.FinalReply);
        Assert.Equal(SmtpRecipientStatus.PermanentFailure, failed.Recipients[0].Status);
        Assert.Equal(SmtpRecipientStatus.TemporaryFailure, failed.Recipients[1].Status); // 552 to RCPT is a 452 (RFC 5321 4.5.3.1.10)
        Assert.Equal(0, connection.MessagesSent);
        var ok = await connection.SendAsync(Message(SimpleContent, "z@example.test"), Ct);
        Assert.True(ok.AllDelivered);
        await connection.QuitAsync(Ct);
        await server.Completion;
    }

    [Fact]
    public async Task Without_pipelining_a_refused_MAIL_stops_the_transaction()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("8BITMIME");
            await s.ExpectAsync("MAIL FROM:<a@example.test>", "451 4.7.1 Greylisted, try again");
            await s.ExpectAsync("RSET", "250 OK");
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server);
        var result = await connection.SendAsync(Message(SimpleContent, "b@example.test", "c@example.test"), Ct);
        Assert.Equal(451, result.MailReply.Code);
        Assert.All(result.Recipients, r => Assert.Equal(SmtpRecipientStatus.TemporaryFailure, r.Status));
        Assert.All(result.Recipients, r => Assert.Same(result.MailReply, r.Reply));
        Assert.Null(result.FinalReply);
        await connection.QuitAsync(Ct);
        await server.Completion;
    }

    [Fact]
    public async Task A_message_over_the_servers_SIZE_is_refused_without_sending_anything()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("PIPELINING", "SIZE 1000");
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server);
        var message = new SmtpOutboundMessage("a@example.test", To("b@example.test", "c@example.test"), 5000,
            (_, _) => throw new InvalidOperationException("content must not be read"));
        var result = await connection.SendAsync(message, Ct);
        Assert.True(result.RejectedLocally);
        Assert.Equal(552, result.MailReply.Code);
        Assert.Equal("5.3.4", result.MailReply.Enhanced.ToString());
        Assert.All(result.Recipients, r => Assert.Equal(SmtpRecipientStatus.PermanentFailure, r.Status));
        Assert.Null(result.FinalReply);
        Assert.True(connection.IsUsable);
        await connection.QuitAsync(Ct);
        await server.Completion;
    }

    [Theory]
    [InlineData("b@example.test", true)]
    [InlineData("jürgen@example.test", false)]
    public async Task A_message_that_needs_SMTPUTF8_is_refused_when_the_server_does_not_offer_it(string recipient, bool flag)
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("PIPELINING", "8BITMIME");
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server);
        var message = new SmtpOutboundMessage("a@example.test", To(recipient), 10, (_, _) => throw new InvalidOperationException("not read"))
        {
            SmtpUtf8 = flag,
        };
        var result = await connection.SendAsync(message, Ct);
        Assert.True(result.RejectedLocally);
        Assert.Equal("5.6.7", result.MailReply.Enhanced.ToString());
        Assert.Contains("requires SMTPUTF8", result.MailReply.Text, StringComparison.Ordinal);
        Assert.Equal(SmtpRecipientStatus.PermanentFailure, result.Recipients[0].Status);
        await connection.QuitAsync(Ct);
        await server.Completion;
    }

    [Fact]
    public async Task SMTPUTF8_is_sent_with_UTF8_addresses_when_offered()
    {
        var content = Encoding.UTF8.GetBytes("Subject: Grüße\r\n\r\nÄpfel\r\n");
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("PIPELINING", "8BITMIME", "SMTPUTF8");
            await s.ExpectPipelinedAsync("MAIL FROM:<müller@absender.test> BODY=8BITMIME SMTPUTF8", ["jürgen@example.test"], "250 OK", "250 OK", "354 go");
            Assert.Equal(content, Unstuff(await s.ReadDataAsync()));
            await s.ReplyAsync("250 queued");
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server);
        var message = new SmtpOutboundMessage("müller@absender.test", To("jürgen@example.test"), content.Length,
            (stream, ct) => stream.WriteAsync(content, ct).AsTask())
        {
            Body = BodyType.EightBitMime,
        };
        Assert.True((await connection.SendAsync(message, Ct)).AllDelivered);
        await connection.QuitAsync(Ct);
        await server.Completion;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task DSN_parameters_are_sent_xtext_encoded_only_when_the_server_offers_DSN(bool dsn)
    {
        var message = new SmtpOutboundMessage("a@example.test",
            [
                new EnvelopeRecipient("b@example.test", DsnNotify.Success | DsnNotify.Failure, "rfc822;b+x=y@example.test"),
                new EnvelopeRecipient("c@example.test", DsnNotify.Never),
                new EnvelopeRecipient("d@example.test", DsnNotify.Delay, "rfc822;dürer@example.test"),
                new EnvelopeRecipient("e@example.test"),
            ], SimpleContent.Length, (stream, ct) => stream.WriteAsync(SimpleContent, ct).AsTask())
        {
            Ret = DsnReturn.Headers,
            EnvelopeId = "id+1=2 x",
        };
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync(dsn ? ["PIPELINING", "DSN"] : ["PIPELINING"]);
            if (dsn)
            {
                await s.ExpectAsync("MAIL FROM:<a@example.test> RET=HDRS ENVID=id+2B1+3D2+20x");
                await s.ExpectAsync("RCPT TO:<b@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2Bx+3Dy@example.test");
                await s.ExpectAsync("RCPT TO:<c@example.test> NOTIFY=NEVER");
                await s.ExpectAsync("RCPT TO:<d@example.test> NOTIFY=DELAY ORCPT=utf-8;d\\x{FC}rer@example.test");
            }
            else
            {
                await s.ExpectAsync("MAIL FROM:<a@example.test>");
                await s.ExpectAsync("RCPT TO:<b@example.test>");
                await s.ExpectAsync("RCPT TO:<c@example.test>");
                await s.ExpectAsync("RCPT TO:<d@example.test>");
            }
            await s.ExpectAsync("RCPT TO:<e@example.test>");
            await s.ExpectAsync("DATA");
            await s.ReplyAsync("250 OK", "250 OK", "250 OK", "250 OK", "250 OK", "354 go");
            await s.ReadDataAsync();
            await s.ReplyAsync("250 queued");
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server);
        Assert.True((await connection.SendAsync(message, Ct)).AllDelivered);
        await connection.QuitAsync(Ct);
        await server.Completion;
    }

    [Fact]
    public void The_server_DSN_parser_decodes_what_the_client_encodes()
    {
        // The client's xtext against Hermod's own server-side decoder.
        var envelopeId = "id+1=2 x\u00e9";
        Assert.True(PathParser.TryDecodeXtext(Xtext.Encode("id+1=2 x"), out var decoded));
        Assert.Equal("id+1=2 x", decoded);
        Assert.True(PathParser.TryParseOrcpt(Xtext.EncodeOrcpt("rfc822;b+x=y@example.test"), out var orcpt));
        Assert.Equal("rfc822;b+x=y@example.test", orcpt);
        Assert.DoesNotContain(' ', Xtext.Encode(envelopeId));
    }

    [Fact]
    public async Task BDAT_sends_a_200_KB_message_in_64_KiB_chunks_byte_exact()
    {
        var content = LargeContent(200 * 1024);
        var received = new MemoryStream();
        var chunks = new List<(int, bool)>();
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("PIPELINING", "CHUNKING", "8BITMIME");
            await s.ExpectAsync($"MAIL FROM:<a@example.test>");
            await s.ExpectAsync("RCPT TO:<b@example.test>");
            await s.ReplyAsync("250 OK", "250 OK");
            while (true)
            {
                var (size, last) = await s.ExpectBdatAsync();
                chunks.Add((size, last));
                received.Write(await s.ReadExactAsync(size));
                await s.ReplyAsync(last ? "250 2.0.0 Ok: queued" : $"250 2.0.0 {size} octets received");
                if (last)
                    break;
            }
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server);
        var message = new SmtpOutboundMessage("a@example.test", To("b@example.test"), content.Length, async (stream, ct) =>
        {
            for (var i = 0; i < content.Length; i += 1000) // many small writes: the chunks are cut by the client
                await stream.WriteAsync(content.AsMemory(i, Math.Min(1000, content.Length - i)), ct);
        });
        var result = await connection.SendAsync(message, Ct);
        Assert.True(result.AllDelivered, result.ToString());
        Assert.Equal("Ok: queued", result.FinalReply!.Text);
        await connection.QuitAsync(Ct);
        await server.Completion;
        Assert.Equal([(65536, false), (65536, false), (65536, false), (8192, true)], chunks);
        Assert.Equal(content, received.ToArray()); // no dot-stuffing with BDAT
    }

    [Fact]
    public async Task A_refused_BDAT_chunk_ends_the_transaction_with_that_reply_then_RSET()
    {
        var content = LargeContent(300 * 1024);
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.OpenEnvelopeAsync("CHUNKING");
            var (size, _) = await s.ExpectBdatAsync();
            await s.ReadExactAsync(size);
            await s.ReplyAsync("250 2.0.0 received");
            (size, _) = await s.ExpectBdatAsync();
            await s.ReadExactAsync(size);
            await s.ReplyAsync("552 5.3.4 Message too big for this mailbox");
            await s.ExpectAsync("RSET", "250 2.0.0 OK");
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server);
        var result = await connection.SendAsync(SmtpOutboundMessage.FromBytes("a@example.test", To("b@example.test"), content), Ct);
        Assert.Equal(552, result.FinalReply!.Code);
        Assert.Equal(SmtpRecipientStatus.PermanentFailure, result.Recipients[0].Status);
        Assert.True(connection.IsUsable);
        await connection.QuitAsync(Ct);
        await server.Completion;
    }

    public static TheoryData<string, string> DotContent => new()
    {
        { "Subject: dots\r\n\r\n.\r\n..x\r\n.leading\r\nmid.dle\r\n\r\n.\r\n", "Subject: dots\r\n\r\n..\r\n...x\r\n..leading\r\nmid.dle\r\n\r\n..\r\n.\r\n" },
        { "Subject: no final CRLF\r\n\r\nlast line", "Subject: no final CRLF\r\n\r\nlast line\r\n.\r\n" },
        { "Subject: ends with a dot\r\n\r\ntext\r\n.", "Subject: ends with a dot\r\n\r\ntext\r\n..\r\n.\r\n" },
        { ".starts with a dot\r\n", "..starts with a dot\r\n.\r\n" },
    };

    [Theory]
    [MemberData(nameof(DotContent))]
    public async Task DATA_is_dot_stuffed_and_terminated_byte_exact(string content, string wire)
    {
        var bytes = Encoding.ASCII.GetBytes(content);
        byte[]? received = null;
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.OpenTransactionAsync();
            received = await s.ReadDataAsync();
            await s.ReplyAsync("250 queued");
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server);
        var message = new SmtpOutboundMessage("a@example.test", To("b@example.test"), bytes.Length, async (stream, ct) =>
        {
            foreach (var b in bytes) // one octet at a time: the stuffing must not depend on how the content is cut
                await stream.WriteAsync(new[] { b }, ct);
        });
        Assert.True((await connection.SendAsync(message, Ct)).AllDelivered);
        await connection.QuitAsync(Ct);
        await server.Completion;
        Assert.Equal(wire, Encoding.ASCII.GetString(received!));
        var expected = content.EndsWith("\r\n", StringComparison.Ordinal) ? content : content + "\r\n";
        Assert.Equal(expected, Encoding.ASCII.GetString(Unstuff(received!)));
    }

    [Fact]
    public async Task STARTTLS_opportunistic_upgrades_and_says_EHLO_again()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("PIPELINING", "STARTTLS");
            await s.StartTlsAsync(TestCertificate.Value);
            await s.ExpectAsync("EHLO client.test");
            await s.EhloReplyAsync("PIPELINING", "8BITMIME");
            await s.ExpectPipelinedAsync("MAIL FROM:<a@example.test>", ["b@example.test"], "250 OK", "250 OK", "354 go");
            Assert.Equal(SimpleContent, Unstuff(await s.ReadDataAsync()));
            await s.ReplyAsync("250 queued");
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server, Options(o => o.TlsPolicy = TlsPolicy.Opportunistic));
        Assert.True(connection.IsTls);
        Assert.NotNull(connection.TlsProtocol);
        Assert.False(connection.Capabilities.StartTls); // the capabilities are the ones announced over TLS
        Assert.True(connection.Capabilities.EightBitMime);
        Assert.True((await connection.SendAsync(Message(SimpleContent, "b@example.test"), Ct)).AllDelivered);
        Assert.Contains(connection.Transcript.Lines, l => l.StartsWith("* TLS established", StringComparison.Ordinal));
        await connection.QuitAsync(Ct);
        await server.Completion;
    }

    [Fact]
    public async Task STARTTLS_opportunistic_goes_on_in_plaintext_when_the_server_refuses_it()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("STARTTLS");
            await s.ExpectAsync("STARTTLS", "454 4.7.0 TLS not available");
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server, Options(o => o.TlsPolicy = TlsPolicy.Opportunistic));
        Assert.False(connection.IsTls);
        await connection.QuitAsync(Ct);
        await server.Completion;
    }

    [Fact]
    public async Task STARTTLS_required_but_not_offered_is_a_failure_result()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("PIPELINING");
            await s.QuitAsync();
        });
        var result = await SmtpClientConnection.ConnectAsync(server.EndPoint, "fake.test", Options(o => o.TlsPolicy = TlsPolicy.Required), Ct);
        Assert.False(result.Succeeded);
        Assert.Equal(SmtpClientStage.StartTls, result.Stage);
        Assert.False(result.FromServer);
        Assert.Equal("4.7.4", result.Reply.Enhanced.ToString());
        Assert.True(result.IsTransient);
        await server.Completion;
    }

    [Fact]
    public async Task STARTTLS_required_validates_the_certificate()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("STARTTLS");
            try
            {
                // With TLS 1.3 the server side may finish before the client has judged the certificate.
                await s.StartTlsAsync(TestCertificate.Value);
                var line = await s.ReadLineAsync();
                Assert.Fail($"the client accepted a self-signed certificate and went on: {line}");
            }
            catch (Exception e) when (e is AuthenticationException or IOException)
            {
                // the client gave up during the handshake (EndOfStreamException is an IOException)
            }
        });
        var error = await Assert.ThrowsAsync<SmtpClientException>(() =>
            SmtpClientConnection.ConnectAsync(server.EndPoint, "fake.test", Options(o => o.TlsPolicy = TlsPolicy.Required), Ct));
        Assert.Equal(SmtpClientStage.StartTls, error.Stage);
        Assert.True(error.IsTransient);
        Assert.IsType<AuthenticationException>(error.InnerException);
        await server.Completion;
    }

    [Fact]
    public async Task AUTH_PLAIN_over_required_TLS_with_the_secret_redacted_from_the_transcript()
    {
        string? authLine = null;
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("STARTTLS");
            await s.StartTlsAsync(TestCertificate.Value);
            await s.ExpectAsync("EHLO client.test");
            await s.EhloReplyAsync("AUTH PLAIN LOGIN", "PIPELINING");
            authLine = await s.ReadLineAsync();
            await s.ReplyAsync("235 2.7.0 Authentication successful");
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server, Options(o =>
        {
            o.TlsPolicy = TlsPolicy.Required;
            o.AcceptAnyCertificate = true;
            o.Credentials = new SmtpClientCredentials("relay-user", "s3cret pass");
        }));
        Assert.True(connection.IsTls);
        Assert.True(connection.IsAuthenticated);
        await connection.QuitAsync(Ct);
        await server.Completion;

        Assert.StartsWith("AUTH PLAIN ", authLine, StringComparison.Ordinal);
        Assert.Equal("\0relay-user\0s3cret pass", Encoding.UTF8.GetString(Convert.FromBase64String(authLine![11..])));
        var transcript = connection.Transcript.ToString();
        Assert.Contains("C: AUTH PLAIN ***", transcript, StringComparison.Ordinal);
        Assert.DoesNotContain(authLine[11..], transcript, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", transcript, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AUTH_LOGIN_in_plaintext_when_allowed_with_the_secrets_redacted()
    {
        var user = Convert.ToBase64String("relay-user"u8);
        var password = Convert.ToBase64String("s3cret"u8);
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("AUTH LOGIN", "PIPELINING");
            await s.ExpectAsync("AUTH LOGIN", "334 VXNlcm5hbWU6");
            await s.ExpectAsync(user, "334 UGFzc3dvcmQ6");
            await s.ExpectAsync(password, "235 2.7.0 Authentication successful");
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server, Options(o =>
        {
            o.Credentials = new SmtpClientCredentials("relay-user", "s3cret");
            o.AllowPlaintextAuth = true;
        }));
        Assert.True(connection.IsAuthenticated);
        Assert.False(connection.IsTls);
        await connection.QuitAsync(Ct);
        await server.Completion;
        var transcript = connection.Transcript.Lines;
        Assert.Contains("C: AUTH LOGIN", transcript);
        Assert.Equal(2, transcript.Count(l => l == "C: ***"));
        Assert.DoesNotContain(transcript, l => l.Contains(user, StringComparison.Ordinal) || l.Contains(password, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Credentials_are_not_sent_over_plaintext_unless_allowed()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("AUTH PLAIN LOGIN");
            await s.QuitAsync(); // no AUTH line before QUIT
        });
        var result = await SmtpClientConnection.ConnectAsync(server.EndPoint, "fake.test",
            Options(o => o.Credentials = new SmtpClientCredentials("u", "p")), Ct);
        Assert.False(result.Succeeded);
        Assert.Equal(SmtpClientStage.Auth, result.Stage);
        Assert.False(result.FromServer);
        await server.Completion;
    }

    [Fact]
    public async Task A_refused_AUTH_is_a_failure_result_with_the_servers_reply()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("AUTH PLAIN");
            var line = await s.ReadLineAsync();
            Assert.StartsWith("AUTH PLAIN ", line, StringComparison.Ordinal);
            await s.ReplyAsync("535 5.7.8 Authentication credentials invalid");
            await s.QuitAsync();
        });
        var result = await SmtpClientConnection.ConnectAsync(server.EndPoint, "fake.test",
            Options(o =>
            {
                o.Credentials = new SmtpClientCredentials("u", "wrong");
                o.AllowPlaintextAuth = true;
            }), Ct);
        Assert.False(result.Succeeded);
        Assert.Equal(SmtpClientStage.Auth, result.Stage);
        Assert.True(result.FromServer);
        Assert.Equal(535, result.Reply.Code);
        Assert.False(result.IsTransient);
        Assert.DoesNotContain(result.Transcript, l => l.Contains("wrong", StringComparison.Ordinal));
        await server.Completion;
    }

    [Theory]
    [InlineData("554 5.7.1 No SMTP service here", false)]
    [InlineData("421 4.3.2 Too busy, try later", true)]
    public async Task A_refusing_greeting_is_a_failure_result(string greeting, bool transient)
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.ReplyAsync(greeting);
            if (greeting.StartsWith("554", StringComparison.Ordinal))
                await s.QuitAsync(); // RFC 5321 3.1: QUIT after a 554 greeting
            else
                await s.WaitForCloseAsync();
        });
        var result = await SmtpClientConnection.ConnectAsync(server.EndPoint, "fake.test", Options(), Ct);
        Assert.False(result.Succeeded);
        Assert.Equal(SmtpClientStage.Greeting, result.Stage);
        Assert.Equal(transient, result.IsTransient);
        Assert.Equal(greeting, result.Reply.ToString());
        await server.Completion;
    }

    [Fact]
    public async Task A_421_to_MAIL_fails_every_recipient_temporarily_and_ends_the_connection()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("PIPELINING");
            await s.ExpectPipelinedAsync("MAIL FROM:<a@example.test>", ["b@example.test", "c@example.test"], "421 4.3.2 Service shutting down");
        });
        var connection = await ConnectAsync(server);
        var result = await connection.SendAsync(Message(SimpleContent, "b@example.test", "c@example.test"), Ct);
        Assert.Equal(421, result.MailReply.Code);
        Assert.All(result.Recipients, r => Assert.Equal(SmtpRecipientStatus.TemporaryFailure, r.Status));
        Assert.All(result.Recipients, r => Assert.Equal(421, r.Reply.Code));
        Assert.Null(result.FinalReply);
        Assert.False(connection.IsUsable);
        await Assert.ThrowsAsync<InvalidOperationException>(() => connection.SendAsync(Message(SimpleContent, "b@example.test"), Ct));
        await connection.DisposeAsync();
        await server.Completion;
    }

    [Fact]
    public async Task A_connection_dropped_mid_DATA_is_a_transient_SmtpClientException()
    {
        var content = LargeContent(2 * 1024 * 1024);
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.OpenTransactionAsync();
            await s.ReadExactAsync(10_000);
            s.Abort();
        });
        var connection = await ConnectAsync(server);
        var error = await Assert.ThrowsAsync<SmtpClientException>(() =>
            connection.SendAsync(SmtpOutboundMessage.FromBytes("a@example.test", To("b@example.test"), content), Ct));
        Assert.True(error.IsTransient);
        Assert.False(error.IsTimeout);
        Assert.Contains(error.Stage, new[] { SmtpClientStage.Content, SmtpClientStage.EndOfData });
        Assert.False(connection.IsUsable);
        Assert.NotEmpty(error.Transcript);
        await connection.DisposeAsync();
        await server.Completion;
    }

    [Fact]
    public async Task A_server_that_never_greets_times_out()
    {
        await using var server = FakeSmtpServer.Start(s => s.StallAsync(TimeSpan.FromSeconds(20)));
        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<SmtpClientException>(() =>
            SmtpClientConnection.ConnectAsync(server.EndPoint, "fake.test", Options(o => o.GreetingTimeout = TimeSpan.FromMilliseconds(300)), Ct));
        Assert.True(error.IsTimeout);
        Assert.Equal(SmtpClientStage.Greeting, error.Stage);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10));
        await server.Completion; // the client closed the connection: the stall ended
    }

    [Fact]
    public async Task A_server_that_stalls_after_the_final_dot_times_out_and_may_have_delivered()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.OpenTransactionAsync();
            await s.ReadDataAsync();
            await s.StallAsync(TimeSpan.FromSeconds(20));
        });
        var connection = await ConnectAsync(server, Options(o => o.DataTerminationTimeout = TimeSpan.FromMilliseconds(300)));
        var error = await Assert.ThrowsAsync<SmtpClientException>(() => connection.SendAsync(Message(SimpleContent, "b@example.test"), Ct));
        Assert.True(error.IsTimeout);
        Assert.Equal(SmtpClientStage.EndOfData, error.Stage);
        Assert.True(error.MayHaveBeenDelivered);
        Assert.Equal(354, error.Reply?.Code); // the last reply seen
        Assert.False(connection.IsUsable);
        await connection.DisposeAsync();
        await server.Completion;
    }

    [Fact]
    public async Task A_server_that_stops_reading_the_content_makes_the_send_time_out()
    {
        // The server reads nothing more until the client has given up: the socket buffers fill up. It holds the connection
        // open that long (not for a fixed time: filling buffers that grow to tens of MB can take seconds on a loaded machine).
        var clientGaveUp = new TaskCompletionSource();
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.OpenTransactionAsync();
            await clientGaveUp.Task.WaitAsync(TimeSpan.FromSeconds(30));
        });
        var connection = await ConnectAsync(server, Options(o => o.DataBlockTimeout = TimeSpan.FromMilliseconds(500)));
        var big = new byte[64 << 20]; // far more than both sockets' buffers hold
        "Subject: big\r\n\r\n"u8.CopyTo(big);
        big.AsSpan(16).Fill((byte)'x');
        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<SmtpClientException>(() => connection.SendAsync(Message(big, "b@example.test"), Ct));
        clientGaveUp.SetResult();
        Assert.True(error.IsTimeout, error.Message);
        Assert.Equal(SmtpClientStage.Content, error.Stage);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(15));
        Assert.False(connection.IsUsable);
        await connection.DisposeAsync();
    }

    [Fact]
    public async Task A_malformed_reply_is_a_protocol_error()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync();
            await s.ExpectAsync("MAIL FROM:<a@example.test>");
            await s.SendRawAsync("2.5.0 this is no reply\r\n");
            await s.WaitForCloseAsync();
        });
        var connection = await ConnectAsync(server);
        var error = await Assert.ThrowsAsync<SmtpClientException>(() => connection.SendAsync(Message(SimpleContent, "b@example.test"), Ct));
        Assert.Equal(SmtpClientStage.Mail, error.Stage);
        Assert.IsType<InvalidDataException>(error.InnerException);
        await connection.DisposeAsync();
        await server.Completion;
    }

    [Fact]
    public async Task A_refused_TCP_connect_is_an_SmtpClientException()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var endPoint = (IPEndPoint)probe.LocalEndpoint;
        probe.Stop();
        var error = await Assert.ThrowsAsync<SmtpClientException>(() => SmtpClientConnection.ConnectAsync(endPoint, "closed.test", Options(), Ct));
        Assert.Equal(SmtpClientStage.Connect, error.Stage);
        Assert.IsType<SocketException>(error.InnerException);
    }

    [Fact]
    public async Task RSET_then_a_second_message_on_the_same_connection()
    {
        var second = "Subject: second\r\n\r\n.dot\r\n"u8.ToArray();
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("PIPELINING", "SIZE 0");
            foreach (var (to, content) in new[] { ("b@example.test", SimpleContent), ("c@example.test", second) })
            {
                await s.ExpectPipelinedAsync($"MAIL FROM:<a@example.test> SIZE={content.Length}", [to], "250 OK", "250 OK", "354 go");
                Assert.Equal(content, Unstuff(await s.ReadDataAsync()));
                await s.ReplyAsync("250 queued");
                if (to == "b@example.test")
                    await s.ExpectAsync("RSET", "250 2.0.0 Flushed");
            }
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server);
        Assert.Null(connection.Capabilities.MaxSize); // SIZE 0: no limit
        Assert.True((await connection.SendAsync(Message(SimpleContent, "b@example.test"), Ct)).AllDelivered);
        var reset = await connection.ResetAsync(Ct);
        Assert.Equal("Flushed", reset.Text);
        Assert.True((await connection.SendAsync(Message(second, "c@example.test"), Ct)).AllDelivered);
        Assert.Equal(2, connection.MessagesSent);
        await connection.QuitAsync(Ct);
        Assert.False(connection.IsUsable);
        await server.Completion;
    }

    [Fact]
    public async Task A_failing_content_source_ends_the_connection_and_its_exception_comes_through()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.OpenTransactionAsync();
            await s.WaitForCloseAsync(); // never a terminator: a truncated message must not be delivered
        });
        var connection = await ConnectAsync(server);
        var message = new SmtpOutboundMessage("a@example.test", To("b@example.test"), 100, async (stream, ct) =>
        {
            await stream.WriteAsync("Subject: half\r\n"u8.ToArray(), ct);
            throw new FileNotFoundException("blob gone");
        });
        await Assert.ThrowsAsync<FileNotFoundException>(() => connection.SendAsync(message, Ct));
        Assert.False(connection.IsUsable);
        await connection.DisposeAsync();
        await server.Completion;
    }

    [Fact]
    public async Task The_transcript_keeps_the_last_lines_only()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("PIPELINING");
            for (var i = 0; i < 20; i++)
                await s.ExpectAsync("RSET", $"250 reset {i}");
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server, Options(o => o.TranscriptLines = 5));
        for (var i = 0; i < 20; i++)
            await connection.ResetAsync(Ct);
        Assert.Equal(["C: RSET", "S: 250 reset 18", "C: RSET", "S: 250 reset 19"], connection.Transcript.Last(4));
        Assert.Equal(5, connection.Transcript.Lines.Count);
        await connection.QuitAsync(Ct);
        await server.Completion;
    }

    /// <summary>CRLF lines of printable text, some starting with '.', exactly <paramref name="size"/> octets.</summary>
    internal static byte[] LargeContent(int size)
    {
        var sb = new StringBuilder("Subject: large\r\n\r\n");
        for (var i = 0; ; i++)
        {
            var line = (i % 7 == 0 ? "." : "") + "line " + i + " " + new string((char)('a' + (i % 26)), i % 90) + "\r\n";
            if (sb.Length + line.Length > size - 2)
                break;
            sb.Append(line);
        }
        sb.Append('x', size - 2 - sb.Length).Append("\r\n");
        return Encoding.ASCII.GetBytes(sb.ToString());
    }
}
