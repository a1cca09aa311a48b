using System.Text;
using System.Text.Json;
using Hermod.Core.Storage;
using Hermod.Smtp.Client;

namespace Hermod.Smtp.Tests.Client;

/// <summary>
/// The step-by-step transaction (MailAsync, RcptAsync, ContentAsync): against real peers (aiosmtpd, Postfix smtp-sink)
/// for what they can show, and against <see cref="FakeSmtpServer"/> scripts for the wire details no peer here offers
/// (CHUNKING, lockstep under PIPELINING, SMTPUTF8 refused locally).
/// </summary>
public sealed class StepTransactionTests : IDisposable
{
    private readonly CancellationTokenSource _testTimeout = new(TimeSpan.FromSeconds(90));

    private CancellationToken Ct => _testTimeout.Token;

    public void Dispose() => _testTimeout.Dispose();

    private async Task<SmtpClientConnection> ConnectAsync(System.Net.IPEndPoint endPoint, SmtpClientOptions? options = null)
    {
        var result = await SmtpClientConnection.ConnectAsync(endPoint, "peer.test", options ?? SmtpClientConnectionTests.Options(), Ct);
        Assert.True(result.Succeeded, $"{result}\n{string.Join('\n', result.Transcript)}");
        return result.Connection;
    }

    private static Func<Stream, CancellationToken, Task> Writer(byte[] content) => (stream, ct) => stream.WriteAsync(content, ct).AsTask();

    private static string[] Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();

    // ---- aiosmtpd ------------------------------------------------------------------------------------------

    [Fact]
    public async Task Aiosmtpd_step_by_step_transaction_delivers_byte_exact_then_the_connection_carries_the_next()
    {
        await using var peer = await AiosmtpdPeer.StartAsync();
        var content = "Subject: step by step\r\n\r\n.dot line\r\n..two dots\r\n.\r\nend\r\n"u8.ToArray();
        var connection = await ConnectAsync(peer.EndPoint);
        Assert.False(connection.Capabilities.Chunking); // so this is DATA

        var mail = await connection.MailAsync(new SmtpOutboundMessage("sender@example.test", content.Length) { Body = BodyType.EightBitMime }, Ct);
        Assert.Equal(250, mail.Code);
        Assert.Equal(250, (await connection.RcptAsync(new EnvelopeRecipient("one@example.test"), Ct)).Code);
        Assert.Equal(250, (await connection.RcptAsync(new EnvelopeRecipient("two@example.test"), Ct)).Code);
        var (final, length) = await connection.ContentAsync(Writer(content), Ct);
        Assert.Equal(250, final.Code);
        Assert.Equal("Message accepted for delivery", final.Text);
        Assert.Equal(content.Length, length);
        Assert.Equal(1, connection.MessagesSent);
        Assert.Contains("DATA", connection.Transcript.Lines.Select(l => l.Length > 3 ? l[3..] : l));

        // The transaction is over: the next one goes on the same connection, with no RSET needed.
        var second = "Subject: second\r\n\r\nok\r\n"u8.ToArray();
        Assert.Equal(250, (await connection.MailAsync(new SmtpOutboundMessage("s2@example.test", second.Length), Ct)).Code);
        Assert.Equal(250, (await connection.RcptAsync(new EnvelopeRecipient("three@example.test"), Ct)).Code);
        Assert.Equal(250, (await connection.ContentAsync(Writer(second), Ct)).Final.Code);
        Assert.Equal(2, connection.MessagesSent);
        await connection.QuitAsync(Ct);

        var (envelope, received) = await peer.MessageAsync(1);
        Assert.Equal("sender@example.test", envelope.GetProperty("mail_from").GetString());
        Assert.Equal(["one@example.test", "two@example.test"], Strings(envelope.GetProperty("rcpt_tos")));
        Assert.Equal([$"SIZE={content.Length}", "BODY=8BITMIME"], Strings(envelope.GetProperty("mail_options")));
        Assert.Equal(content, received);
        var (envelope2, received2) = await peer.MessageAsync(2);
        Assert.Equal(["three@example.test"], Strings(envelope2.GetProperty("rcpt_tos")));
        Assert.Equal(second, received2);
    }

    [Fact]
    public async Task Aiosmtpd_each_RCPT_gets_its_own_reply_and_only_the_accepted_receive_the_content()
    {
        await using var peer = await AiosmtpdPeer.StartAsync("--reject", "gone@example.test", "--tempfail", "busy@example.test");
        var content = "Subject: mixed\r\n\r\nbody\r\n"u8.ToArray();
        var connection = await ConnectAsync(peer.EndPoint);
        Assert.Equal(250, (await connection.MailAsync(new SmtpOutboundMessage("sender@example.test", content.Length), Ct)).Code);

        var ok = await connection.RcptAsync(new EnvelopeRecipient("ok@example.test"), Ct);
        var gone = await connection.RcptAsync(new EnvelopeRecipient("gone@example.test"), Ct);
        var busy = await connection.RcptAsync(new EnvelopeRecipient("busy@example.test"), Ct);
        var also = await connection.RcptAsync(new EnvelopeRecipient("also@example.test"), Ct);
        Assert.Equal((250, "2.1.5"), (ok.Code, ok.Enhanced.ToString()));
        Assert.Equal((550, "5.1.1"), (gone.Code, gone.Enhanced.ToString()));
        Assert.Equal((451, "4.2.0"), (busy.Code, busy.Enhanced.ToString()));
        Assert.Equal(250, also.Code);
        Assert.Equal(250, (await connection.ContentAsync(Writer(content), Ct)).Final.Code);
        await connection.QuitAsync(Ct);

        var (envelope, received) = await peer.MessageAsync(1);
        Assert.Equal(["ok@example.test", "also@example.test"], Strings(envelope.GetProperty("rcpt_tos")));
        Assert.Equal(content, received);
        Assert.Equal(1, peer.MessageCount);
    }

    [Fact]
    public async Task Aiosmtpd_SIZE_is_omitted_when_the_size_is_unknown()
    {
        await using var peer = await AiosmtpdPeer.StartAsync();
        var content = "Subject: size unknown\r\n\r\nstill arriving\r\n"u8.ToArray();
        var connection = await ConnectAsync(peer.EndPoint);
        Assert.True(connection.Capabilities.Size); // the server offers SIZE, yet none is announced
        Assert.Equal(250, (await connection.MailAsync(new SmtpOutboundMessage("sender@example.test", 0), Ct)).Code);
        Assert.Equal(250, (await connection.RcptAsync(new EnvelopeRecipient("r@example.test"), Ct)).Code);
        var (final, length) = await connection.ContentAsync(Writer(content), Ct);
        Assert.Equal(250, final.Code);
        Assert.Equal(content.Length, length);
        await connection.QuitAsync(Ct);

        var (envelope, received) = await peer.MessageAsync(1);
        Assert.Empty(Strings(envelope.GetProperty("mail_options")));
        Assert.Equal(content, received);
        Assert.Contains(connection.Transcript.Lines, l => l.EndsWith("MAIL FROM:<sender@example.test>", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Aiosmtpd_steps_out_of_order_throw_and_the_connection_stays_usable()
    {
        await using var peer = await AiosmtpdPeer.StartAsync("--reject", "gone@example.test");
        var content = "Subject: in order\r\n\r\nok\r\n"u8.ToArray();
        var connection = await ConnectAsync(peer.EndPoint);

        // RCPT and content before MAIL.
        await Assert.ThrowsAsync<InvalidOperationException>(() => connection.RcptAsync(new EnvelopeRecipient("r@example.test"), Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => connection.ContentAsync(Writer(content), Ct));

        // Content when no RCPT was accepted; SendAsync and a second MAIL while the transaction is open.
        Assert.Equal(250, (await connection.MailAsync(new SmtpOutboundMessage("s@example.test", 0), Ct)).Code);
        Assert.Equal(550, (await connection.RcptAsync(new EnvelopeRecipient("gone@example.test"), Ct)).Code);
        await Assert.ThrowsAsync<InvalidOperationException>(() => connection.ContentAsync(Writer(content), Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            connection.SendAsync(SmtpOutboundMessage.FromBytes("s@example.test", [new("r@example.test")], content), Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => connection.MailAsync(new SmtpOutboundMessage("s@example.test", 0), Ct));
        Assert.True(connection.IsUsable);

        // RSET aborts it; then a whole message goes through SendAsync.
        Assert.Equal(250, (await connection.ResetAsync(Ct)).Code);
        await Assert.ThrowsAsync<InvalidOperationException>(() => connection.RcptAsync(new EnvelopeRecipient("r@example.test"), Ct));
        Assert.True((await connection.SendAsync(SmtpOutboundMessage.FromBytes("s@example.test", [new("here@example.test")], content), Ct)).AllDelivered);
        await connection.QuitAsync(Ct);
        Assert.Equal(1, peer.MessageCount);
        Assert.Equal(content, (await peer.MessageAsync(1)).Content);
    }

    [Fact]
    public async Task Aiosmtpd_an_aborted_transaction_delivers_nothing()
    {
        await using var peer = await AiosmtpdPeer.StartAsync();
        var connection = await ConnectAsync(peer.EndPoint);
        Assert.Equal(250, (await connection.MailAsync(new SmtpOutboundMessage("s@example.test", 0), Ct)).Code);
        Assert.Equal(250, (await connection.RcptAsync(new EnvelopeRecipient("r@example.test"), Ct)).Code);
        Assert.Equal(250, (await connection.ResetAsync(Ct)).Code);
        var content = "Subject: after the abort\r\n\r\nonly me\r\n"u8.ToArray();
        Assert.Equal(250, (await connection.MailAsync(new SmtpOutboundMessage("s@example.test", 0), Ct)).Code);
        Assert.Equal(250, (await connection.RcptAsync(new EnvelopeRecipient("other@example.test"), Ct)).Code);
        Assert.Equal(250, (await connection.ContentAsync(Writer(content), Ct)).Final.Code);
        await connection.QuitAsync(Ct);

        var (envelope, received) = await peer.MessageAsync(1);
        Assert.Equal(["other@example.test"], Strings(envelope.GetProperty("rcpt_tos")));
        Assert.Equal(content, received);
        Assert.Equal(1, peer.MessageCount);
    }

    // ---- Postfix smtp-sink ---------------------------------------------------------------------------------

    [Fact]
    public async Task SmtpSink_step_by_step_with_DSN_parameters()
    {
        await using var sink = await SmtpSinkPeer.StartAsync();
        var content = "Subject: dsn\r\n\r\n.one\r\ntwo\r\n"u8.ToArray();
        var connection = await ConnectAsync(sink.EndPoint);
        Assert.True(connection.Capabilities.Dsn);
        var mail = new SmtpOutboundMessage("sender@example.test", content.Length) { Ret = DsnReturn.Headers, EnvelopeId = "id 7" };
        Assert.Equal(250, (await connection.MailAsync(mail, Ct)).Code);
        Assert.Equal(250, (await connection.RcptAsync(new EnvelopeRecipient("one@example.test", DsnNotify.Failure | DsnNotify.Delay, "rfc822;one+x@example.test"), Ct)).Code);
        Assert.Equal(250, (await connection.RcptAsync(new EnvelopeRecipient("two@example.test"), Ct)).Code);
        Assert.Equal(250, (await connection.ContentAsync(Writer(content), Ct)).Final.Code);
        await connection.QuitAsync(Ct);

        var dump = Assert.Single(await sink.DumpsAsync(1));
        Assert.Equal("<sender@example.test> RET=HDRS ENVID=id+207", dump.MailArgs);
        Assert.Equal(["<one@example.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;one+2Bx@example.test", "<two@example.test>"], dump.RcptArgs);
        Assert.Equal(Encoding.Latin1.GetBytes("Subject: dsn\n\n.one\ntwo\n\n"), dump.Content); // as smtp-sink dumps it: LF, one more at the end
    }

    [Fact]
    public async Task SmtpSink_a_421_at_RCPT_ends_the_session()
    {
        await using var sink = await SmtpSinkPeer.StartAsync("-Q", "RCPT");
        var connection = await ConnectAsync(sink.EndPoint);
        Assert.Equal(250, (await connection.MailAsync(new SmtpOutboundMessage("s@example.test", 0), Ct)).Code);
        var reply = await connection.RcptAsync(new EnvelopeRecipient("a@example.test"), Ct);
        Assert.Equal(421, reply.Code);
        Assert.False(connection.IsUsable);
        await Assert.ThrowsAsync<InvalidOperationException>(() => connection.RcptAsync(new EnvelopeRecipient("b@example.test"), Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => connection.ContentAsync(Writer("x\r\n"u8.ToArray()), Ct));
        await connection.DisposeAsync();
    }

    [Fact]
    public async Task SmtpSink_a_refused_MAIL_opens_no_transaction()
    {
        await using var sink = await SmtpSinkPeer.StartAsync("-f", "MAIL");
        var connection = await ConnectAsync(sink.EndPoint);
        var mail = await connection.MailAsync(new SmtpOutboundMessage("s@example.test", 0), Ct);
        Assert.Equal(5, mail.Code / 100);
        await Assert.ThrowsAsync<InvalidOperationException>(() => connection.RcptAsync(new EnvelopeRecipient("a@example.test"), Ct));
        Assert.True(connection.IsUsable);
        await connection.QuitAsync(Ct);
    }

    // ---- scripted server: what no peer here offers ---------------------------------------------------------

    [Fact]
    public async Task Each_step_waits_for_its_reply_even_when_the_server_offers_PIPELINING()
    {
        var content = "Subject: lockstep\r\n\r\nbody\r\n"u8.ToArray();
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("PIPELINING", "SIZE 1000000");
            await s.ExpectAsync("MAIL FROM:<a@example.test>");
            await Task.Delay(100);
            Assert.Equal(0, s.Buffered); // nothing behind MAIL: the client waits for its reply
            await s.ReplyAsync("250 2.1.0 OK");
            await s.ExpectAsync("RCPT TO:<b@example.test>");
            await Task.Delay(100);
            Assert.Equal(0, s.Buffered);
            await s.ReplyAsync("250 2.1.5 OK");
            await s.ExpectAsync("DATA", "354 go ahead");
            Assert.Equal(content, SmtpClientConnectionTests.Unstuff(await s.ReadDataAsync()));
            await s.ReplyAsync("250 2.0.0 queued");
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server.EndPoint);
        Assert.Equal(250, (await connection.MailAsync(new SmtpOutboundMessage("a@example.test", 0), Ct)).Code);
        Assert.Equal(250, (await connection.RcptAsync(new EnvelopeRecipient("b@example.test"), Ct)).Code);
        Assert.Equal("queued", (await connection.ContentAsync(Writer(content), Ct)).Final.Text);
        await connection.QuitAsync(Ct);
        await server.Completion;
    }

    [Fact]
    public async Task MAIL_and_the_first_RCPT_go_in_one_write_under_PIPELINING_and_the_next_RCPT_waits()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("PIPELINING");
            await s.ExpectAsync("MAIL FROM:<a@example.test>");
            await s.ExpectAsync("RCPT TO:<b@example.test>"); // read before MAIL is answered: one round trip
            await s.ReplyAsync("250 2.1.0 OK", "250 2.1.5 first");
            await s.ExpectAsync("RCPT TO:<c@example.test>");
            await Task.Delay(100);
            Assert.Equal(0, s.Buffered);
            await s.ReplyAsync("550 5.1.1 no such user");
            await s.ExpectAsync("RSET", "250 2.0.0 OK");
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server.EndPoint);
        var (mail, first) = await connection.MailAsync(new SmtpOutboundMessage("a@example.test", 0), new EnvelopeRecipient("b@example.test"), Ct);
        Assert.Equal(250, mail.Code);
        Assert.Equal((250, "first"), (first!.Code, first.Text));
        Assert.Equal(550, (await connection.RcptAsync(new EnvelopeRecipient("c@example.test"), Ct)).Code);
        Assert.Equal(250, (await connection.ResetAsync(Ct)).Code);
        await connection.QuitAsync(Ct);
        await server.Completion;
    }

    [Fact]
    public async Task A_refused_MAIL_drops_the_pipelined_RCPTs_reply_and_opens_no_transaction()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("PIPELINING");
            await s.ExpectAsync("MAIL FROM:<a@example.test>");
            await s.ExpectAsync("RCPT TO:<b@example.test>");
            await s.ReplyAsync("451 4.3.0 try later", "503 5.5.1 need MAIL first");
            await s.ExpectAsync("MAIL FROM:<a@example.test>", "250 OK"); // the connection is in step for the next
            await s.ExpectAsync("RSET", "250 OK");
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server.EndPoint);
        var (mail, first) = await connection.MailAsync(new SmtpOutboundMessage("a@example.test", 0), new EnvelopeRecipient("b@example.test"), Ct);
        Assert.Equal(451, mail.Code);
        Assert.Null(first);
        await Assert.ThrowsAsync<InvalidOperationException>(() => connection.RcptAsync(new EnvelopeRecipient("b@example.test"), Ct));
        Assert.Equal(250, (await connection.MailAsync(new SmtpOutboundMessage("a@example.test", 0), Ct)).Code);
        Assert.Equal(250, (await connection.ResetAsync(Ct)).Code);
        await connection.QuitAsync(Ct);
        await server.Completion;
    }

    [Fact]
    public async Task Without_PIPELINING_the_first_RCPT_follows_MAILs_reply()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync();
            await s.ExpectAsync("MAIL FROM:<a@example.test>");
            await Task.Delay(100);
            Assert.Equal(0, s.Buffered);
            await s.ReplyAsync("250 OK");
            await s.ExpectAsync("RCPT TO:<b@example.test>", "250 OK");
            await s.ExpectAsync("RSET", "250 OK");
            await s.ExpectAsync("MAIL FROM:<a@example.test>", "550 5.7.1 not you"); // refused: no RCPT follows
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server.EndPoint);
        var (mail, first) = await connection.MailAsync(new SmtpOutboundMessage("a@example.test", 0), new EnvelopeRecipient("b@example.test"), Ct);
        Assert.Equal((250, 250), (mail.Code, first!.Code));
        Assert.Equal(250, (await connection.ResetAsync(Ct)).Code);
        (mail, first) = await connection.MailAsync(new SmtpOutboundMessage("a@example.test", 0), new EnvelopeRecipient("b@example.test"), Ct);
        Assert.Equal(550, mail.Code);
        Assert.Null(first);
        await connection.QuitAsync(Ct);
        await server.Completion;
    }

    [Fact]
    public async Task DATA_opened_ahead_of_the_content_then_the_content_costs_one_round_trip()
    {
        var content = "Subject: early\r\n\r\n.dot\r\nbody\r\n"u8.ToArray();
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("PIPELINING");
            await s.ExpectAsync("MAIL FROM:<a@example.test>");
            await s.ExpectAsync("RCPT TO:<b@example.test>");
            await s.ReplyAsync("250 OK", "250 OK");
            await s.ExpectAsync("DATA", "354 go ahead");
            Assert.Equal(content, SmtpClientConnectionTests.Unstuff(await s.ReadDataAsync()));
            await s.ReplyAsync("250 2.0.0 queued early");
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server.EndPoint);
        await connection.MailAsync(new SmtpOutboundMessage("a@example.test", 0), new EnvelopeRecipient("b@example.test"), Ct);
        Assert.Equal(354, (await connection.OpenDataAsync(Ct))!.Code);
        await Assert.ThrowsAsync<InvalidOperationException>(() => connection.RcptAsync(new EnvelopeRecipient("c@example.test"), Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => connection.OpenDataAsync(Ct));
        var (final, _) = await connection.ContentAsync(Writer(content), Ct);
        Assert.Equal("queued early", final.Text);
        Assert.Single(connection.Transcript.Lines, l => l.EndsWith("DATA", StringComparison.Ordinal)); // not sent twice
        await connection.QuitAsync(Ct);
        await server.Completion;
    }

    [Fact]
    public async Task DATA_refused_ahead_of_the_content_is_the_content_answer_then_RSET()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.OpenEnvelopeAsync();
            await s.ExpectAsync("DATA", "451 4.3.0 not now");
            await s.ExpectAsync("RSET", "250 OK"); // no content was sent
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server.EndPoint);
        await connection.MailAsync(new SmtpOutboundMessage("a@example.test", 0), new EnvelopeRecipient("b@example.test"), Ct);
        Assert.Equal(451, (await connection.OpenDataAsync(Ct))!.Code);
        var (final, length) = await connection.ContentAsync(Writer("Subject: x\r\n\r\ny\r\n"u8.ToArray()), Ct);
        Assert.Equal((451, 0L), (final.Code, length));
        Assert.True(connection.IsUsable);
        await connection.QuitAsync(Ct);
        await server.Completion;
    }

    [Fact]
    public async Task A_transaction_given_up_after_354_closes_the_connection_instead_of_sending_RSET_as_content()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.OpenEnvelopeAsync();
            await s.ExpectAsync("DATA", "354 go ahead");
            Assert.True(await s.WaitForCloseAsync()); // nothing more: no RSET, no content, no final dot
        });
        var connection = await ConnectAsync(server.EndPoint);
        await connection.MailAsync(new SmtpOutboundMessage("a@example.test", 0), new EnvelopeRecipient("b@example.test"), Ct);
        Assert.Equal(354, (await connection.OpenDataAsync(Ct))!.Code);
        var error = await Assert.ThrowsAsync<SmtpClientException>(() => connection.ResetAsync(Ct));
        Assert.Equal(SmtpClientStage.Reset, error.Stage);
        Assert.False(connection.IsUsable);
        await connection.DisposeAsync();
        await server.Completion;
    }

    [Fact]
    public async Task With_CHUNKING_there_is_no_DATA_to_open()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.OpenEnvelopeAsync("CHUNKING");
            var (size, last) = await s.ExpectBdatAsync();
            Assert.True(last);
            await s.ReadExactAsync(size);
            await s.ReplyAsync("250 2.0.0 chunked");
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server.EndPoint);
        await connection.MailAsync(new SmtpOutboundMessage("a@example.test", 0), new EnvelopeRecipient("b@example.test"), Ct);
        Assert.Null(await connection.OpenDataAsync(Ct));
        Assert.Equal("chunked", (await connection.ContentAsync(Writer("Subject: x\r\n\r\ny\r\n"u8.ToArray()), Ct)).Final.Text);
        await connection.QuitAsync(Ct);
        await server.Completion;
    }

    [Fact]
    public async Task BDAT_carries_the_content_when_the_server_offers_CHUNKING()
    {
        var content = SmtpClientConnectionTests.LargeContent(100 * 1024);
        var received = new MemoryStream();
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync("CHUNKING", "SIZE 1000000");
            await s.ExpectAsync($"MAIL FROM:<a@example.test> SIZE={content.Length}", "250 OK");
            await s.ExpectAsync("RCPT TO:<b@example.test>", "250 OK");
            while (true)
            {
                var (size, last) = await s.ExpectBdatAsync();
                received.Write(await s.ReadExactAsync(size));
                await s.ReplyAsync(last ? "250 2.0.0 queued as BDAT" : "250 2.0.0 chunk received");
                if (last)
                    break;
            }
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server.EndPoint);
        Assert.Equal(250, (await connection.MailAsync(new SmtpOutboundMessage("a@example.test", content.Length), Ct)).Code);
        Assert.Equal(250, (await connection.RcptAsync(new EnvelopeRecipient("b@example.test"), Ct)).Code);
        var (final, length) = await connection.ContentAsync(Writer(content), Ct);
        Assert.Equal("queued as BDAT", final.Text);
        Assert.Equal(content.Length, length);
        Assert.Equal(1, connection.MessagesSent);
        await connection.QuitAsync(Ct);
        await server.Completion;
        Assert.Equal(content, received.ToArray()); // no dot-stuffing, no DATA
        Assert.DoesNotContain(connection.Transcript.Lines, l => l.EndsWith("DATA", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_refused_final_reply_is_returned_then_RSET()
    {
        var content = "Subject: refused\r\n\r\nno\r\n"u8.ToArray();
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.OpenEnvelopeAsync();
            await s.ExpectAsync("DATA", "354 go ahead");
            await s.ReadDataAsync();
            await s.ReplyAsync("554 5.6.0 Message content rejected");
            await s.ExpectAsync("RSET", "250 2.0.0 OK");
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server.EndPoint);
        Assert.Equal(250, (await connection.MailAsync(new SmtpOutboundMessage("a@example.test", 0), Ct)).Code);
        Assert.Equal(250, (await connection.RcptAsync(new EnvelopeRecipient("b@example.test"), Ct)).Code);
        Assert.Equal(554, (await connection.ContentAsync(Writer(content), Ct)).Final.Code);
        Assert.Equal(0, connection.MessagesSent);
        Assert.True(connection.IsUsable);
        await connection.QuitAsync(Ct);
        await server.Completion;
    }

    [Fact]
    public async Task A_message_that_needs_SMTPUTF8_is_refused_locally_by_a_server_without_it()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.OpenEnvelopeAsync("8BITMIME"); // the only MAIL the server sees
            await s.ExpectAsync("RSET", "250 OK");
            await s.QuitAsync();
        });
        var connection = await ConnectAsync(server.EndPoint);
        var refused = await connection.MailAsync(new SmtpOutboundMessage("jürgen@bücher.test", 0), Ct);
        Assert.Equal((553, "5.6.7"), (refused.Code, refused.Enhanced.ToString()));
        Assert.Equal(refused, connection.LocalRefusal(new SmtpOutboundMessage("a@example.test", 0) { SmtpUtf8 = true }));
        Assert.Null(connection.LocalRefusal(new SmtpOutboundMessage("a@example.test", 0)));
        await Assert.ThrowsAsync<InvalidOperationException>(() => connection.RcptAsync(new EnvelopeRecipient("b@example.test"), Ct));

        // A transaction without SMTPUTF8 refuses a UTF-8 recipient locally, and goes on.
        Assert.Equal(250, (await connection.MailAsync(new SmtpOutboundMessage("a@example.test", 0), Ct)).Code);
        Assert.Equal(553, (await connection.RcptAsync(new EnvelopeRecipient("δοκιμή@example.test"), Ct)).Code);
        Assert.Equal(250, (await connection.RcptAsync(new EnvelopeRecipient("b@example.test"), Ct)).Code);
        Assert.Equal(250, (await connection.ResetAsync(Ct)).Code);
        await connection.QuitAsync(Ct);
        await server.Completion;
    }

    [Fact]
    public async Task A_connection_lost_after_the_final_dot_throws_and_may_have_delivered()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.OpenEnvelopeAsync();
            await s.ExpectAsync("DATA", "354 go ahead");
            await s.ReadDataAsync();
            s.Abort();
        });
        var connection = await ConnectAsync(server.EndPoint);
        Assert.Equal(250, (await connection.MailAsync(new SmtpOutboundMessage("a@example.test", 0), Ct)).Code);
        Assert.Equal(250, (await connection.RcptAsync(new EnvelopeRecipient("b@example.test"), Ct)).Code);
        var error = await Assert.ThrowsAsync<SmtpClientException>(() => connection.ContentAsync(Writer("Subject: x\r\n\r\ny\r\n"u8.ToArray()), Ct));
        Assert.Equal(SmtpClientStage.EndOfData, error.Stage);
        Assert.True(error.MayHaveBeenDelivered);
        Assert.False(connection.IsUsable);
        await connection.DisposeAsync();
        await server.Completion;
    }

    [Fact]
    public async Task A_cancelled_step_leaves_the_connection_unusable()
    {
        await using var server = FakeSmtpServer.Start(async s =>
        {
            await s.GreetAsync();
            await s.ExpectAsync("MAIL FROM:<a@example.test>", "250 OK");
            await s.ExpectAsync("RCPT TO:<b@example.test>");
            await s.StallAsync(TimeSpan.FromSeconds(20));
        });
        var connection = await ConnectAsync(server.EndPoint);
        Assert.Equal(250, (await connection.MailAsync(new SmtpOutboundMessage("a@example.test", 0), Ct)).Code);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connection.RcptAsync(new EnvelopeRecipient("b@example.test"), cancel.Token));
        Assert.False(connection.IsUsable);
        await connection.DisposeAsync();
        await server.Completion;
    }
}
