using System.Text;
using Hermod.Core.Pipeline;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Smtp.Configuration;
using Hermod.Smtp.StateMachine;

namespace Hermod.Smtp.Tests.Server;

/// <summary>
/// The session's command rules in memory (<see cref="InMemorySmtp"/>): the state table as the client sees it,
/// PIPELINING, line and error limits, MAIL and RCPT parameters, the policy pipeline's refusals, STARTTLS and AUTH.
/// </summary>
public sealed class SmtpSessionCommandTests
{
    /// <summary>Brings a fresh session to <paramref name="state"/> (a BDAT sequence holds one 2-octet chunk).</summary>
    internal static async Task GoToAsync(InMemorySmtp smtp, SmtpState state)
    {
        if (state == SmtpState.Connected)
            return;
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        if (state == SmtpState.Ready)
            return;
        await smtp.SendAndExpectAsync("MAIL FROM:<sender@remote.test>", "250 2.1.0");
        if (state == SmtpState.MailGiven)
            return;
        await smtp.SendAndExpectAsync("RCPT TO:<user@example.test>", "250 2.1.5");
        if (state == SmtpState.RcptGiven)
            return;
        await smtp.SendAsync("BDAT 2\r\nab");
        await smtp.ExpectAsync("250 2.0.0 2 octets received");
    }

    /// <summary>Asserts where the session stands: each state refuses this probe with a reply of its own.</summary>
    internal static async Task ExpectStateAsync(InMemorySmtp smtp, SmtpState state)
    {
        var (probe, refusal) = state switch
        {
            SmtpState.Connected => ("MAIL FROM:<a@b.test>", "503 5.5.1 Send HELO/EHLO first"),
            SmtpState.Ready => ("RCPT TO:<user@example.test>", "503 5.5.1 Need MAIL command first"),
            SmtpState.MailGiven => ("DATA", "554 5.5.1 No valid recipients"),
            SmtpState.RcptGiven => ("MAIL FROM:<a@b.test>", "503 5.5.1 Nested MAIL command"),
            _ => ("MAIL FROM:<a@b.test>", "503 5.5.1 Only BDAT, RSET, NOOP or QUIT inside a BDAT sequence"),
        };
        Assert.Equal(refusal, await smtp.SendAndExpectAsync(probe, ""));
    }

    private static Task<InMemorySmtp> StartAsync(Action<InMemorySmtp>? configure = null) => InMemorySmtp.StartAsync(smtp =>
    {
        smtp.Options.Limits.MaxErrors = 100; // the state probes are refusals
        configure?.Invoke(smtp);
    });

    [Fact]
    public async Task Ehlo_lists_the_extensions_and_helo_greets_alone()
    {
        await using var smtp = await StartAsync();

        Assert.Equal(
            "250-mx.example.test Hello client.test [127.0.0.1]\n250-PIPELINING\n250-SIZE 52428800\n250-8BITMIME\n250-SMTPUTF8\n" +
            "250-ENHANCEDSTATUSCODES\n250-CHUNKING\n250-DSN\n250 HELP",
            await smtp.SendAndExpectAsync("EHLO client.test", "250"));
        Assert.Equal("250 mx.example.test Hello client.test [127.0.0.1]", await smtp.SendAndExpectAsync("HELO client.test", "250"));
        await smtp.SendAndExpectAsync("EHLO", "501 5.5.4 Syntax: EHLO hostname");
        await smtp.SendAndExpectAsync("HELO two names", "501 5.5.4 Syntax: HELO hostname");
    }

    public static TheoryData<SmtpState, string, string, SmtpState> Transitions => new()
    {
        { SmtpState.Connected, "EHLO client.test\r\n", "250-", SmtpState.Ready },
        { SmtpState.Connected, "HELO client.test\r\n", "250 ", SmtpState.Ready },
        { SmtpState.Connected, "RSET\r\n", "250 2.0.0 OK", SmtpState.Connected },
        { SmtpState.Connected, "NOOP\r\n", "250 2.0.0 OK", SmtpState.Connected },
        { SmtpState.Connected, "HELP\r\n", "214 2.0.0", SmtpState.Connected },
        { SmtpState.Connected, "VRFY someone\r\n", "252 2.5.0", SmtpState.Connected },
        { SmtpState.Connected, "EXPN list\r\n", "502 5.5.1 EXPN not available", SmtpState.Connected },
        { SmtpState.Ready, "EHLO client.test\r\n", "250-", SmtpState.Ready },
        { SmtpState.Ready, "RSET\r\n", "250 2.0.0 OK", SmtpState.Ready },
        { SmtpState.Ready, "MAIL FROM:<a@b.test>\r\n", "250 2.1.0 Sender OK", SmtpState.MailGiven },
        { SmtpState.Ready, "MAIL FROM:<>\r\n", "250 2.1.0 Sender OK", SmtpState.MailGiven },
        { SmtpState.Ready, "MAIL FROM:<a@@b.test>\r\n", "501 5.1.7 Bad address syntax", SmtpState.Ready },
        { SmtpState.Ready, "EHLO\r\n", "501 5.5.4", SmtpState.Ready },
        { SmtpState.MailGiven, "RCPT TO:<u@example.test>\r\n", "250 2.1.5 Recipient OK", SmtpState.RcptGiven },
        { SmtpState.MailGiven, "RCPT TO:<u@elsewhere.test>\r\n", "550 5.7.1 Relaying denied", SmtpState.MailGiven },
        { SmtpState.MailGiven, "RSET\r\n", "250 2.0.0 OK", SmtpState.Ready },
        { SmtpState.MailGiven, "EHLO client.test\r\n", "250-", SmtpState.Ready },
        { SmtpState.MailGiven, "HELO\r\n", "501 5.5.4", SmtpState.MailGiven },
        { SmtpState.RcptGiven, "RCPT TO:<v@example.test>\r\n", "250 2.1.5", SmtpState.RcptGiven },
        { SmtpState.RcptGiven, "RSET\r\n", "250 2.0.0 OK", SmtpState.Ready },
        { SmtpState.RcptGiven, "HELO client.test\r\n", "250 ", SmtpState.Ready },
        { SmtpState.RcptGiven, "BDAT 3\r\nabc", "250 2.0.0 3 octets received", SmtpState.Bdat },
        { SmtpState.RcptGiven, "BDAT 3 LAST\r\nabc", "250 2.0.0 Ok: queued as ", SmtpState.Ready },
        { SmtpState.RcptGiven, "DATA\r\n", "354 End data with <CR><LF>.<CR><LF>", SmtpState.RcptGiven },
        { SmtpState.Bdat, "BDAT 3\r\nabc", "250 2.0.0 3 octets received", SmtpState.Bdat },
        { SmtpState.Bdat, "BDAT 0 LAST\r\n", "250 2.0.0 Ok: queued as ", SmtpState.Ready },
        { SmtpState.Bdat, "RSET\r\n", "250 2.0.0 OK", SmtpState.Ready },
        { SmtpState.Bdat, "NOOP\r\n", "250 2.0.0 OK", SmtpState.Bdat },
    };

    [Theory]
    [MemberData(nameof(Transitions))]
    public async Task A_command_leaves_the_session_in_the_state_the_table_gives(SmtpState from, string command, string reply, SmtpState to)
    {
        await using var smtp = await StartAsync();
        await GoToAsync(smtp, from);

        await smtp.SendAsync(command);
        Assert.StartsWith(reply, await smtp.ReadReplyAsync(), StringComparison.Ordinal);

        if (command == "DATA\r\n") // the state holds while the content comes; its end leaves the transaction
        {
            await smtp.SendAsync("x\r\n.\r\n");
            await smtp.ExpectAsync("250 2.0.0 Ok: queued as ");
            to = SmtpState.Ready;
        }
        await ExpectStateAsync(smtp, to);
    }

    public static TheoryData<SmtpState, string, string> OutOfSequence => new()
    {
        { SmtpState.Connected, "MAIL FROM:<a@b.test>", "503 5.5.1 Send HELO/EHLO first" },
        { SmtpState.Connected, "RCPT TO:<u@example.test>", "503 5.5.1 Send HELO/EHLO first" },
        { SmtpState.Connected, "DATA", "503 5.5.1 Send HELO/EHLO first" },
        { SmtpState.Connected, "STARTTLS", "503 5.5.1 Send HELO/EHLO first" },
        { SmtpState.Connected, "AUTH PLAIN", "503 5.5.1 Send HELO/EHLO first" },
        { SmtpState.Ready, "RCPT TO:<u@example.test>", "503 5.5.1 Need MAIL command first" },
        { SmtpState.Ready, "DATA", "503 5.5.1 Need MAIL command first" },
        { SmtpState.MailGiven, "MAIL FROM:<a@b.test>", "503 5.5.1 Nested MAIL command" },
        { SmtpState.MailGiven, "DATA", "554 5.5.1 No valid recipients" },
        { SmtpState.MailGiven, "STARTTLS", "503 5.5.1 Bad sequence of commands" },
        { SmtpState.RcptGiven, "MAIL FROM:<a@b.test>", "503 5.5.1 Nested MAIL command" },
        { SmtpState.RcptGiven, "AUTH PLAIN", "503 5.5.1 Bad sequence of commands" },
        { SmtpState.Bdat, "DATA", "503 5.5.1 Only BDAT, RSET, NOOP or QUIT inside a BDAT sequence" },
        { SmtpState.Bdat, "EHLO client.test", "503 5.5.1 Only BDAT, RSET, NOOP or QUIT inside a BDAT sequence" },
        { SmtpState.Bdat, "RCPT TO:<u@example.test>", "503 5.5.1 Only BDAT, RSET, NOOP or QUIT inside a BDAT sequence" },
    };

    [Theory]
    [MemberData(nameof(OutOfSequence))]
    public async Task A_command_out_of_sequence_gets_the_table_s_refusal_and_changes_nothing(SmtpState state, string command, string refusal)
    {
        await using var smtp = await StartAsync();
        await GoToAsync(smtp, state);

        Assert.Equal(refusal, await smtp.SendAndExpectAsync(command, ""));

        await ExpectStateAsync(smtp, state);
        Assert.Equal("bad_sequence", smtp.Rejections[0]);
    }

    [Theory]
    [InlineData(SmtpState.Connected, "503 5.5.1 Send HELO/EHLO first")]
    [InlineData(SmtpState.Ready, "503 5.5.1 Need MAIL command first")]
    [InlineData(SmtpState.MailGiven, "554 5.5.1 No valid recipients")]
    public async Task A_bdat_out_of_sequence_has_its_chunk_read_and_dropped_then_is_refused(SmtpState state, string refusal)
    {
        await using var smtp = await StartAsync();
        await GoToAsync(smtp, state);
        var flushes = smtp.Flushes;

        await smtp.SendAsync("BDAT 6 LAST\r\nQUIT\r\nNOOP\r\n");

        Assert.Equal(refusal, await smtp.ReadReplyAsync());
        await smtp.ExpectAsync("250 2.0.0 OK"); // NOOP: the QUIT inside the chunk never ran
        Assert.Equal(flushes + 1, smtp.Flushes);
        await ExpectStateAsync(smtp, state);
        Assert.Empty(smtp.Store.Accepted);
    }

    [Fact]
    public async Task A_refused_bdat_chunk_may_come_in_pieces()
    {
        await using var smtp = await StartAsync();
        await GoToAsync(smtp, SmtpState.Ready);

        await smtp.SendAsync("BDAT 12\r\nQUIT\r\n");
        await smtp.SendAsync("RSET");
        await smtp.SendAsync("\r\nNOOP\r\n");

        await smtp.ExpectAsync("503 5.5.1 Need MAIL command first");
        await smtp.ExpectAsync("250 2.0.0 OK");
    }

    [Theory]
    [InlineData(SmtpState.RcptGiven, "BDAT")]
    [InlineData(SmtpState.RcptGiven, "BDAT lots")]
    [InlineData(SmtpState.RcptGiven, "BDAT -1")]
    [InlineData(SmtpState.RcptGiven, "BDAT 10 FIRST")]
    [InlineData(SmtpState.RcptGiven, "BDAT 10 LAST more")]
    [InlineData(SmtpState.RcptGiven, "BDAT 99999999999999999999")]
    [InlineData(SmtpState.Connected, "BDAT x")] // the syntax is checked before the sequence: a chunk without a size cannot be skipped
    [InlineData(SmtpState.Bdat, "BDAT 1 last now")]
    public async Task A_bdat_without_a_valid_size_closes_the_session(SmtpState state, string command)
    {
        await using var smtp = await StartAsync();
        await GoToAsync(smtp, state);

        await smtp.SendAndExpectAsync(command, "501 5.5.4 Syntax: BDAT size \\[LAST\\]$");
        await smtp.ExpectAsync("421 4.5.0 Cannot resynchronise after a bad BDAT, closing connection$");

        Assert.True(await smtp.IsClosedAsync());
        Assert.Equal(0, smtp.Store.OpenBlobs);
    }

    [Fact]
    public async Task A_pipelined_batch_is_answered_in_order_in_one_flush()
    {
        await using var smtp = await StartAsync();
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        var flushes = smtp.Flushes;

        await smtp.SendAsync("MAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.test>\r\nRCPT TO:<y@elsewhere.test>\r\nRCPT TO:<z@example.test>\r\nDATA\r\n");
        await smtp.ExpectAsync("250 2.1.0");
        await smtp.ExpectAsync("250 2.1.5");
        await smtp.ExpectAsync("550 5.7.1");
        await smtp.ExpectAsync("250 2.1.5");
        await smtp.ExpectAsync("354");
        Assert.Equal(flushes + 1, smtp.Flushes);

        await smtp.SendAsync("Subject: p\r\n\r\nbody\r\n.\r\nMAIL FROM:<c@d.test>\r\nRCPT TO:<w@example.test>\r\nDATA\r\n");
        await smtp.ExpectAsync("250 2.0.0 Ok: queued as ");
        await smtp.ExpectAsync("250 2.1.0");
        await smtp.ExpectAsync("250 2.1.5");
        await smtp.ExpectAsync("354");
        Assert.Equal(flushes + 2, smtp.Flushes);

        await smtp.SendAsync("second\r\n.\r\nQUIT\r\n");
        await smtp.ExpectAsync("250 2.0.0 Ok: queued as ");
        await smtp.ExpectAsync("221 2.0.0 mx.example.test closing connection");
        Assert.True(await smtp.IsClosedAsync());
        Assert.Equal(["x@example.test", "z@example.test"], smtp.Store.Accepted[0].Envelope.Recipients.Select(r => r.Address));
        Assert.Equal("c@d.test", smtp.Store.Accepted[1].Envelope.Sender);
    }

    [Fact]
    public async Task A_command_line_over_the_limit_gets_500_and_the_next_line_is_a_command_again()
    {
        await using var smtp = await StartAsync();

        await smtp.SendAndExpectAsync("NOOP " + new string('x', 505), "250"); // 510 + CRLF = 512: at the limit
        await smtp.SendAndExpectAsync("NOOP " + new string('x', 506), "500 5.5.6 Line too long");

        await smtp.SendAsync(new string('y', 600)); // past the limit with no end yet: nothing to answer
        await smtp.SendAsync(new string('y', 600));
        await smtp.SendAsync("QUIT\r\nNOOP\r\n"); // the QUIT ends the long line; it is not a command

        await smtp.ExpectAsync("500 5.5.6 Line too long");
        await smtp.ExpectAsync("250 2.0.0 OK");
        Assert.Equal(["line_too_long", "line_too_long"], smtp.Rejections);
    }

    [Fact]
    public async Task Too_many_errors_end_the_session_with_421()
    {
        await using var smtp = await InMemorySmtp.StartAsync(s => s.Options.Limits.MaxErrors = 3);

        await smtp.SendAndExpectAsync("BOGUS", "500 5.5.2 Syntax error, command unrecognized");
        await smtp.SendAndExpectAsync("MAIL FROM:<a@b.test>", "503 5.5.1");
        await smtp.SendAsync("BOGUS\r\nNOOP\r\n");

        await smtp.ExpectAsync("500 5.5.2");
        await smtp.ExpectAsync("421 4.7.0 Too many errors, closing connection");
        Assert.True(await smtp.IsClosedAsync()); // the NOOP behind it was never answered
        Assert.Equal(["unknown_command", "bad_sequence", "unknown_command"], smtp.Rejections);
    }

    [Fact]
    public async Task Quit_closes_and_the_client_closing_ends_the_session()
    {
        await using (var smtp = await StartAsync())
        {
            await smtp.SendAndExpectAsync("QUIT", "221 2.0.0 mx.example.test closing connection");
            Assert.True(await smtp.IsClosedAsync());
        }
        await using (var smtp = await StartAsync())
        {
            await smtp.CloseAsync();
            Assert.True(await smtp.IsClosedAsync());
            Assert.Contains(smtp.Logs, e => e.EventId.Id == 1003 && e.Message.Contains("client closed the connection", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_server_shutting_down_says_so_with_421()
    {
        await using var smtp = await StartAsync();
        await smtp.SendAndExpectAsync("EHLO client.test", "250");

        smtp.Stop();

        await smtp.ExpectAsync("421 4.3.2 Service shutting down, closing connection");
        Assert.True(await smtp.IsClosedAsync());
    }

    [Fact]
    public async Task Mail_and_rcpt_parameters_reach_the_store()
    {
        await using var smtp = await StartAsync();
        await smtp.SendAndExpectAsync("EHLO client.test", "250");

        await smtp.SendAndExpectAsync("MAIL FROM:<a@b.test> ret=hdrs ENVID=QQ+2B1 BODY=8bitmime SIZE=100 SMTPUTF8 AUTH=<>", "250 2.1.0");
        await smtp.SendAndExpectAsync("RCPT TO:<x@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig+40example.test", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<y@example.test> notify=never", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<Postmaster>", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAndExpectAsync("x\r\n.", "250 2.0.0 Ok: queued as ");

        var envelope = Assert.Single(smtp.Store.Accepted).Envelope;
        Assert.Equal("a@b.test", envelope.Sender);
        Assert.Equal(DsnReturn.Headers, envelope.Ret);
        Assert.Equal("QQ+1", envelope.EnvelopeId);
        Assert.Equal(BodyType.EightBitMime, envelope.Body);
        Assert.True(envelope.SmtpUtf8);
        Assert.Equal(
            [new EnvelopeRecipient("x@example.test", DsnNotify.Success | DsnNotify.Failure, "rfc822;orig@example.test"),
                new EnvelopeRecipient("y@example.test", DsnNotify.Never), new EnvelopeRecipient("postmaster")],
            envelope.Recipients);
    }

    [Fact]
    public async Task Without_parameters_the_envelope_has_the_defaults()
    {
        await using var smtp = await StartAsync();
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAndExpectAsync("x\r\n.", "250");

        var envelope = Assert.Single(smtp.Store.Accepted).Envelope;
        Assert.Equal((BodyType.SevenBit, false, DsnReturn.Default, (string?)null), (envelope.Body, envelope.SmtpUtf8, envelope.Ret, envelope.EnvelopeId));
        Assert.Equal([new EnvelopeRecipient("user@example.test")], envelope.Recipients);
        Assert.Equal(new MessageSource("mx", System.Net.IPAddress.Loopback, "client.test", null, null), envelope.Source);
    }

    [Theory]
    [InlineData("MAIL FROM:a@b.test", "501 5.5.2 Syntax: MAIL FROM:<address> [parameters]")]
    [InlineData("MAIL FROM:<a@b.test>SIZE=1", "501 5.5.2 Syntax: MAIL FROM:<address> [parameters]")]
    [InlineData("MAIL FROM:<a@b.test> SI_ZE=1", "501 5.5.2 Bad parameter syntax: SI_ZE=1")]
    [InlineData("MAIL FROM:<a@@b.test> SI_ZE=1", "501 5.5.2 Bad parameter syntax: SI_ZE=1")]
    [InlineData("MAIL FROM:<a@@b.test> BOGUS=1", "501 5.1.7 Bad address syntax")]
    [InlineData("MAIL FROM:<a@b.test> BOGUS=1", "555 5.5.4 Unsupported parameter BOGUS")]
    [InlineData("MAIL FROM:<a@b.test> bogus", "555 5.5.4 Unsupported parameter BOGUS")]
    [InlineData("MAIL FROM:<a@b.test> NOTIFY=NEVER", "555 5.5.4 Unsupported parameter NOTIFY")]
    [InlineData("MAIL FROM:<a@b.test> SIZE=x", "501 5.5.4 Bad value for SIZE")]
    [InlineData("MAIL FROM:<a@b.test> BODY=BINARYMIME", "501 5.5.4 Bad value for BODY")]
    [InlineData("MAIL FROM:<a@b.test> SMTPUTF8=yes", "501 5.5.4 Bad value for SMTPUTF8")]
    [InlineData("MAIL FROM:<a@b.test> size=1 SIZE=2", "501 5.5.4 Duplicate parameter SIZE")]
    [InlineData("MAIL FROM:<a@b.test> BOGUS=1 BOGUS=1", "555 5.5.4 Unsupported parameter BOGUS")]
    [InlineData("MAIL FROM:<jürgen@b.test>", "553 5.6.7 Non-ASCII address requires SMTPUTF8")]
    [InlineData("MAIL FROM:<jürgen@b.test> SIZE=x", "501 5.5.4 Bad value for SIZE")]
    [InlineData("RCPT TO:<u@example.test> NOTIFY=NEVER,SUCCESS", "501 5.5.4 Bad value for NOTIFY")]
    [InlineData("RCPT TO:<u@example.test> ORCPT=rfc822;x+4", "501 5.5.4 Bad value for ORCPT")]
    [InlineData("RCPT TO:<u@example.test> NOTIFY=DELAY Notify=FAILURE", "501 5.5.4 Duplicate parameter NOTIFY")]
    [InlineData("RCPT TO:<u@example.test> SIZE=1", "555 5.5.4 Unsupported parameter SIZE")]
    [InlineData("RCPT TO:<u@@example.test> NOTIFY=x", "501 5.1.3 Bad address syntax")]
    [InlineData("RCPT TO:<grüße@example.test>", "553 5.6.7 Non-ASCII address requires SMTPUTF8")]
    [InlineData("RCPT TO:<u@elsewhere.test> NOTIFY=x", "501 5.5.4 Bad value for NOTIFY")]
    [InlineData("RCPT TO:u@example.test", "501 5.5.2 Syntax: RCPT TO:<address> [parameters]")]
    public async Task A_bad_mail_or_rcpt_argument_gets_its_reply_and_counts_as_an_error(string command, string reply)
    {
        await using var smtp = await StartAsync();
        await GoToAsync(smtp, command.StartsWith("MAIL", StringComparison.Ordinal) ? SmtpState.Ready : SmtpState.MailGiven);

        Assert.Equal(reply, await smtp.SendAndExpectAsync(command, ""));

        await ExpectStateAsync(smtp, command.StartsWith("MAIL", StringComparison.Ordinal) ? SmtpState.Ready : SmtpState.MailGiven);
        Assert.Equal(2, smtp.Rejections.Count); // the refusal and the probe's: both count toward the error limit
    }

    [Fact]
    public async Task A_size_parameter_past_the_limit_is_refused_without_counting_as_an_error()
    {
        await using var smtp = await InMemorySmtp.StartAsync(s =>
        {
            s.Options.Limits.MaxMessageSize = 2048;
            s.Options.Limits.MaxErrors = 1;
        });
        await smtp.SendAndExpectAsync("EHLO client.test", "250.*\n250-SIZE 2048\n");

        await smtp.SendAndExpectAsync("MAIL FROM:<a@b.test> SIZE=2049", "552 5.3.4 Message size exceeds fixed maximum message size$");
        await smtp.SendAndExpectAsync("MAIL FROM:<a@b.test> SIZE=99999999999999999999", "501 5.5.4 Bad value for SIZE");
        await smtp.ExpectAsync("421 4.7.0 Too many errors");
        Assert.Equal(["size", "syntax"], smtp.Rejections);
    }

    [Fact]
    public async Task Recipients_past_the_limit_get_452_and_are_not_counted_as_errors()
    {
        await using var smtp = await InMemorySmtp.StartAsync(s =>
        {
            s.Options.Limits.MaxRecipients = 2;
            s.Options.Limits.MaxErrors = 1;
        });
        await smtp.StartTransactionAsync(to: "a@example.test");
        await smtp.SendAndExpectAsync("RCPT TO:<b@example.test>", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<c@example.test>", "452 4.5.3 Too many recipients");
        await smtp.SendAndExpectAsync("RCPT TO:<bad syntax>", "452 4.5.3 Too many recipients"); // the limit comes first
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAndExpectAsync("x\r\n.", "250");

        Assert.Equal(["a@example.test", "b@example.test"], smtp.Store.Accepted[0].Envelope.Recipients.Select(r => r.Address));
        Assert.Equal(["too_many_recipients", "too_many_recipients"], smtp.Rejections);
    }

    [Fact]
    public async Task Relay_to_a_foreign_domain_is_refused_postmaster_is_the_server_s_own()
    {
        await using var smtp = await StartAsync();
        await GoToAsync(smtp, SmtpState.MailGiven);

        await smtp.SendAndExpectAsync("RCPT TO:<u@elsewhere.test>", "550 5.7.1 Relaying denied");
        await smtp.SendAndExpectAsync("RCPT TO:<u@sub.example.test>", "550 5.7.1 Relaying denied");
        await smtp.SendAndExpectAsync("RCPT TO:<u@EXAMPLE.test>", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<POSTMASTER>", "250");

        Assert.Equal(["relay_denied", "relay_denied"], smtp.Rejections);
    }

    [Fact]
    public async Task The_pipeline_s_refusals_at_connect_mail_and_rcpt_reach_the_client_and_are_not_errors()
    {
        var blocked = new SmtpReply(550, new(5, 7, 1), "Sender blocked");
        var busy = new SmtpReply(450, new(4, 2, 1), "Try this one later");
        await using var smtp = await InMemorySmtp.StartAsync(s =>
        {
            s.Options.Limits.MaxErrors = 1;
            s.Pipeline.Mail = sender => sender == "spam@bad.test" ? blocked : null;
            s.Pipeline.Rcpt = recipient => recipient.Address == "busy@example.test" ? busy : null;
        });
        await smtp.SendAndExpectAsync("EHLO client.test", "250");

        await smtp.SendAndExpectAsync("MAIL FROM:<spam@bad.test>", "550 5.7.1 Sender blocked$");
        await smtp.SendAndExpectAsync("MAIL FROM:<spam@bad.test>", "550 5.7.1 Sender blocked$");
        await smtp.SendAndExpectAsync("MAIL FROM:<good@remote.test>", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<busy@example.test>", "450 4.2.1 Try this one later$");
        await smtp.SendAndExpectAsync("RCPT TO:<user@example.test>", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAndExpectAsync("x\r\n.", "250");

        Assert.Equal([new EnvelopeRecipient("user@example.test")], smtp.Store.Accepted[0].Envelope.Recipients);
        Assert.Equal(["policy", "policy", "policy"], smtp.Rejections);
    }

    [Theory]
    [InlineData(550, "554 5.7.1 Go away")]
    [InlineData(450, "421 5.7.1 Go away")]
    public async Task A_connection_the_pipeline_refuses_gets_554_or_421_and_is_closed(int code, string reply)
    {
        await using var smtp = InMemorySmtp.Open(s => s.Pipeline.Connect = new ConnectDecision(new SmtpReply(code, new(5, 7, 1), "Go away")));

        Assert.Equal(reply, await smtp.ReadReplyAsync());
        Assert.True(await smtp.IsClosedAsync());
        Assert.Equal(["policy"], smtp.Rejections);
    }

    [Fact]
    public async Task Each_transaction_shows_the_pipeline_the_session_as_it_stands()
    {
        await using var smtp = await StartAsync();
        await smtp.SendAndExpectAsync("HELO first.test", "250");
        await smtp.SendAndExpectAsync("MAIL FROM:<a@b.test>", "250");
        await smtp.SendAndExpectAsync("RSET", "250");
        await smtp.SendAndExpectAsync("EHLO second.test", "250");
        await smtp.SendAndExpectAsync("MAIL FROM:<a@b.test>", "250");

        Assert.Equal(
            [new SessionInfo("mx", System.Net.IPAddress.Loopback, "first.test", null, false), new SessionInfo("mx", System.Net.IPAddress.Loopback, "second.test", null, false)],
            smtp.Pipeline.Sessions);
    }

    [Theory]
    [InlineData(TlsMode.StartTls)]
    [InlineData(TlsMode.None)]
    public async Task Starttls_without_a_certificate_is_not_offered_and_refused(TlsMode mode)
    {
        await using var smtp = await InMemorySmtp.StartAsync(s => s.Listener.Tls = mode);

        Assert.DoesNotContain("STARTTLS", await smtp.SendAndExpectAsync("EHLO client.test", "250"), StringComparison.Ordinal);
        await smtp.SendAndExpectAsync("STARTTLS", "454 4.7.0 TLS not available$");
        await smtp.SendAndExpectAsync("STARTTLS now", "501 5.5.4 STARTTLS takes no arguments$");
        await ExpectStateAsync(smtp, SmtpState.Ready);
        Assert.Equal(["starttls", "syntax", "bad_sequence"], smtp.Rejections);
    }

    private static string Plain(string user, string password) => Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    [Fact]
    public async Task Auth_is_refused_where_the_listener_has_none_and_without_tls_unless_allowed()
    {
        await using (var smtp = await StartAsync())
        {
            Assert.DoesNotContain("AUTH", await smtp.SendAndExpectAsync("EHLO client.test", "250"), StringComparison.Ordinal);
            await smtp.SendAndExpectAsync("AUTH PLAIN " + Plain(InMemorySmtp.User, InMemorySmtp.Password), "502 5.5.1 AUTH not available on this listener$");
            Assert.Equal(["auth"], smtp.Rejections);
        }
        await using (var smtp = await StartAsync(s => s.Listener.Auth = AuthMode.Required))
        {
            Assert.DoesNotContain("AUTH", await smtp.SendAndExpectAsync("EHLO client.test", "250"), StringComparison.Ordinal);
            await smtp.SendAndExpectAsync("AUTH PLAIN " + Plain(InMemorySmtp.User, InMemorySmtp.Password), "538 5.7.11 Encryption required");
            await smtp.SendAndExpectAsync("MAIL FROM:<a@b.test>", "530 5.7.0 Authentication required$");
            Assert.Equal(["auth_without_tls", "auth_required"], smtp.Rejections);
        }
    }

    [Fact]
    public async Task Auth_plain_and_login_authenticate_and_an_authenticated_client_may_relay()
    {
        await using var smtp = await StartAsync(s =>
        {
            s.Listener.Auth = AuthMode.Required;
            s.Listener.AllowPlaintextAuth = true;
        });
        Assert.Contains("\n250-AUTH PLAIN LOGIN\n", await smtp.SendAndExpectAsync("EHLO client.test", "250"), StringComparison.Ordinal);

        await smtp.SendAndExpectAsync("AUTH PLAIN " + Plain(InMemorySmtp.User, "wrong"), "535 5.7.8 Authentication credentials invalid$");
        await smtp.SendAndExpectAsync("AUTH LOGIN", "334 VXNlcm5hbWU6$");
        await smtp.SendAndExpectAsync(B64(InMemorySmtp.User), "334 UGFzc3dvcmQ6$");
        await smtp.SendAndExpectAsync(B64(InMemorySmtp.Password), "235 2.7.0 Authentication successful$");
        Assert.DoesNotContain("AUTH", await smtp.SendAndExpectAsync("EHLO client.test", "250"), StringComparison.Ordinal);
        await smtp.SendAndExpectAsync("AUTH PLAIN", "503 5.5.1 Already authenticated$");
        await smtp.SendAndExpectAsync("MAIL FROM:<alice@example.test>", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<u@elsewhere.test>", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAndExpectAsync("x\r\n.", "250");

        Assert.Equal(InMemorySmtp.User, smtp.Store.Accepted[0].Envelope.Source.AuthUser);
        Assert.Equal(InMemorySmtp.User, smtp.Pipeline.Sessions[0].AuthUser);
        Assert.Contains(smtp.Logs, e => e.EventId.Id == 1006);
        Assert.Contains(smtp.Logs, e => e.EventId.Id == 1005);
    }

    [Theory]
    [InlineData("AUTH", null, "501 5.5.4 Syntax: AUTH mechanism \\[initial-response\\]$")]
    [InlineData("AUTH CRAM-MD5", null, "504 5.5.4 Unrecognized authentication mechanism$")]
    [InlineData("AUTH PLAIN", "*", "501 5.0.0 Authentication cancelled$")]
    [InlineData("AUTH LOGIN", "*", "501 5.0.0 Authentication cancelled$")]
    [InlineData("AUTH PLAIN", "not base64!", "501 5.5.2 Cannot decode response$")]
    [InlineData("AUTH PLAIN", "=", "535 5.7.8")]
    [InlineData("AUTH PLAIN", "AGFsaWNl", "501 5.5.2 Cannot decode response$")] // "\0alice": two fields
    [InlineData("AUTH PLAIN", "Ym9iAGFsaWNlAHNlY3JldA==", "535 5.7.8")] // "bob\0alice\0secret": another authorization identity
    public async Task A_bad_auth_exchange_is_refused_and_the_session_goes_on(string command, string? response, string reply)
    {
        await using var smtp = await StartAsync(s =>
        {
            s.Listener.Auth = AuthMode.Optional;
            s.Listener.AllowPlaintextAuth = true;
        });
        await smtp.SendAndExpectAsync("EHLO client.test", "250");

        if (response is null)
            await smtp.SendAndExpectAsync(command, reply);
        else
        {
            await smtp.SendAndExpectAsync(command, "334");
            await smtp.SendAndExpectAsync(response, reply);
        }

        await smtp.SendAndExpectAsync("AUTH PLAIN " + Plain(InMemorySmtp.User, InMemorySmtp.Password), "235");
    }
}
