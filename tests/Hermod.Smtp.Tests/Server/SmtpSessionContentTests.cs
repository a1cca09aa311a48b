using System.Text;
using Hermod.Core.Pipeline;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Smtp.Protocol;
using Hermod.Smtp.StateMachine;
using static Hermod.Smtp.Tests.Server.SmtpSessionCommandTests;

namespace Hermod.Smtp.Tests.Server;

/// <summary>
/// The session's content rules in memory (<see cref="InMemorySmtp"/>): DATA and BDAT stored byte-exact, the limits on
/// size, line endings and data rate, RSET mid-message, the store's and the pipeline's answers at the end of data, and
/// what cut-through's next hops are told.
/// </summary>
public sealed class SmtpSessionContentTests
{
    private static byte[] Latin1(string text) => Encoding.Latin1.GetBytes(text);

    private const string Stuffed = "Subject: dots\r\n\r\n..one\r\n...two\r\n.x\r\n8-bit \xE9\xFF\x00 bytes\r\n. \r\n";
    private const string Unstuffed = "Subject: dots\r\n\r\n.one\r\n..two\r\nx\r\n8-bit \xE9\xFF\x00 bytes\r\n \r\n";

    [Fact]
    public async Task Data_is_dot_unstuffed_and_stored_byte_exact_then_acknowledged_with_its_queue_id()
    {
        await using var smtp = await InMemorySmtp.StartAsync();
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354 End data with <CR><LF>.<CR><LF>$");

        await smtp.SendRawAsync(Latin1(Stuffed + ".\r\n"));

        var reply = await smtp.ExpectAsync("250 2.0.0 Ok: queued as [0-9A-Z]{20}$");
        var message = Assert.Single(smtp.Store.Accepted);
        Assert.Equal(reply[^20..], message.Envelope.Id);
        Assert.Equal(Latin1(Unstuffed), message.Body);
        Assert.Equal("", message.HeaderPrefix);
        Assert.Equal(1, smtp.MessagesAccepted);
        Assert.Contains(smtp.Logs, e => e.EventId.Id == 1001 && e.Message.Contains(message.Envelope.Id, StringComparison.Ordinal));
        Assert.Equal(0, smtp.Store.OpenBlobs);
    }

    [Fact]
    public async Task Data_arriving_a_byte_at_a_time_is_stored_the_same()
    {
        await using var smtp = await InMemorySmtp.StartAsync();
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");

        foreach (var octet in Latin1(Stuffed + ".\r\nNOOP\r\n"))
            await smtp.SendRawAsync([octet]);

        await smtp.ExpectAsync("250 2.0.0 Ok: queued as ");
        await smtp.ExpectAsync("250 2.0.0 OK$");
        Assert.Equal(Latin1(Unstuffed), Assert.Single(smtp.Store.Accepted).Body);
    }

    [Fact]
    public async Task Data_with_an_argument_is_refused()
    {
        await using var smtp = await InMemorySmtp.StartAsync();
        await smtp.StartTransactionAsync();

        await smtp.SendAndExpectAsync("DATA now", "501 5.5.4 DATA takes no arguments$");

        await ExpectStateAsync(smtp, SmtpState.RcptGiven);
    }

    [Fact]
    public async Task Bdat_chunks_are_stored_byte_exact_with_no_unstuffing_and_no_end_of_data()
    {
        await using var smtp = await InMemorySmtp.StartAsync();
        await smtp.StartTransactionAsync();
        var first = "Subject: chunks\r\n\r\n.leading dot\r\n.\r\n";
        var last = "last part \xE9\r\n";

        await smtp.SendAsync($"BDAT {first.Length}\r\n");
        await smtp.SendRawAsync(Latin1(first[..10]));
        await smtp.SendRawAsync(Latin1(first[10..]));
        await smtp.ExpectAsync($"250 2.0.0 {first.Length} octets received$");
        await smtp.SendRawAsync(Latin1($"BDAT {last.Length} LAST\r\n{last}"));

        await smtp.ExpectAsync("250 2.0.0 Ok: queued as ");
        Assert.Equal(Latin1(first + last), Assert.Single(smtp.Store.Accepted).Body);
        await ExpectStateAsync(smtp, SmtpState.Ready);
    }

    [Fact]
    public async Task Bdat_zero_last_ends_a_message()
    {
        await using var smtp = await InMemorySmtp.StartAsync();
        await smtp.StartTransactionAsync();

        await smtp.SendAsync("BDAT 4\r\nab\r\nBDAT 0 LAST\r\n");

        await smtp.ExpectAsync("250 2.0.0 4 octets received$");
        await smtp.ExpectAsync("250 2.0.0 Ok: queued as ");
        Assert.Equal(Latin1("ab\r\n"), Assert.Single(smtp.Store.Accepted).Body);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Rset_mid_message_lets_the_staged_body_go_and_a_new_transaction_starts_clean(bool bdat)
    {
        await using var smtp = await InMemorySmtp.StartAsync();
        await smtp.StartTransactionAsync(from: "first@remote.test", to: "first@example.test");
        if (bdat)
        {
            await smtp.SendAsync("BDAT 5\r\nfirst");
            await smtp.ExpectAsync("250 2.0.0 5 octets");
            Assert.Equal(1, smtp.Store.OpenBlobs);
            await smtp.SendAndExpectAsync("RSET", "250 2.0.0 OK$");
        }
        else
            await smtp.SendAndExpectAsync("RSET", "250 2.0.0 OK$");
        Assert.Equal(0, smtp.Store.OpenBlobs);

        await smtp.SendAndExpectAsync("MAIL FROM:<second@remote.test> BODY=8BITMIME", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<second@example.test>", "250");
        await smtp.SendAsync("BDAT 6 LAST\r\nsecond");
        await smtp.ExpectAsync("250 2.0.0 Ok: queued as ");

        var message = Assert.Single(smtp.Store.Accepted);
        Assert.Equal("second@remote.test", message.Envelope.Sender);
        Assert.Equal(["second@example.test"], message.Envelope.Recipients.Select(r => r.Address));
        Assert.Equal(Latin1("second"), message.Body);
    }

    [Fact]
    public async Task Each_transaction_starts_from_nothing_whatever_the_one_before_left()
    {
        await using var smtp = await InMemorySmtp.StartAsync();
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        await smtp.SendAndExpectAsync("MAIL FROM:<first@remote.test> BODY=8BITMIME SMTPUTF8 RET=FULL ENVID=one", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<a@example.test> NOTIFY=NEVER", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<b@example.test>", "250");
        await smtp.SendAsync("BDAT 5 LAST\r\nfirst");
        await smtp.ExpectAsync("250 2.0.0 Ok: queued as ");
        await smtp.SendAndExpectAsync("MAIL FROM:<second@remote.test> RET=HDRS", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<c@example.test>", "250");
        await smtp.SendAsync("BDAT 3\r\nsec");
        await smtp.ExpectAsync("250 2.0.0 3 octets");
        await smtp.SendAndExpectAsync("RSET", "250");
        await smtp.SendAndExpectAsync("MAIL FROM:<third@remote.test>", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<d@example.test>", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAsync("third\r\n.\r\n");
        await smtp.ExpectAsync("250 2.0.0 Ok: queued as ");

        var (first, third) = (smtp.Store.Accepted[0], smtp.Store.Accepted[1]);
        Assert.Equal([new EnvelopeRecipient("a@example.test", DsnNotify.Never), new EnvelopeRecipient("b@example.test")], first.Envelope.Recipients);
        Assert.Equal(new MessageEnvelope(first.Envelope.Id, "first@remote.test", first.Envelope.Recipients, first.Envelope.Source,
            BodyType.EightBitMime, true, DsnReturn.Full, "one"), first.Envelope);
        Assert.Equal([new EnvelopeRecipient("d@example.test")], third.Envelope.Recipients);
        Assert.Equal(new MessageEnvelope(third.Envelope.Id, "third@remote.test", third.Envelope.Recipients, third.Envelope.Source), third.Envelope);
        Assert.NotEqual(first.Envelope.Id, third.Envelope.Id);
        Assert.Equal(Latin1("third\r\n"), third.Body);
        Assert.Equal(0, smtp.Store.OpenBlobs);
    }

    [Theory]
    [InlineData("Subject: x\r\n\r\nbare\nline\r\n.\r\n")]
    [InlineData("Subject: x\r\n\r\nbare\rline\r\n.\r\n")]
    [InlineData("Subject: x\r\n\r\nend\n.\r\n.\r\n")]
    public async Task A_bare_line_ending_is_refused_and_nothing_is_kept(string content)
    {
        await using var smtp = await InMemorySmtp.StartAsync();
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");

        await smtp.SendAsync(content);

        await smtp.ExpectAsync("550 5.6.0 Message contains bare CR or LF; lines must end with CRLF$");
        await ExpectStateAsync(smtp, SmtpState.Ready);
        Assert.Empty(smtp.Store.Accepted);
        Assert.Equal(0, smtp.Store.OpenBlobs);
        Assert.Equal("bare_line_ending", smtp.Rejections[0]);
    }

    [Fact]
    public async Task With_the_normalize_policy_a_bare_line_ending_is_stored_as_crlf()
    {
        await using var smtp = await InMemorySmtp.StartAsync(s => s.Options.BareLineEndings = BareLineEndingPolicy.Normalize);
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");

        await smtp.SendAsync("Subject: x\r\n\r\nbare\nline\r\n.\r\n");

        await smtp.ExpectAsync("250 2.0.0 Ok: queued as ");
        Assert.Equal(Latin1("Subject: x\r\n\r\nbare\r\nline\r\n"), Assert.Single(smtp.Store.Accepted).Body);
    }

    [Fact]
    public async Task A_text_line_or_header_block_past_its_limit_is_refused_at_the_end_of_data()
    {
        await using var smtp = await InMemorySmtp.StartAsync(s => s.Options.Limits.MaxHeaderSize = 100);
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAsync("Subject: long\r\n\r\n" + new string('x', 999) + "\r\n.\r\n");
        await smtp.ExpectAsync("554 5.6.0 Message contains a line longer than allowed$");

        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAsync("X-Big: " + new string('v', 120) + "\r\n\r\nbody\r\n.\r\n");
        await smtp.ExpectAsync("552 5.3.4 Header block exceeds fixed maximum size$");

        Assert.Empty(smtp.Store.Accepted);
        Assert.Equal(["line_too_long", "header_too_large"], smtp.Rejections);
    }

    [Fact]
    public async Task The_size_limit_holds_for_data_read_to_its_end_and_for_bdat_at_the_chunk_past_it()
    {
        await using var smtp = await InMemorySmtp.StartAsync(s => s.Options.Limits.MaxMessageSize = 100);
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAsync(new string('a', 98) + "\r\n" + "b\r\n.\r\nNOOP\r\n"); // 103 octets
        await smtp.ExpectAsync("552 5.3.4 Message size exceeds fixed maximum message size$");
        await smtp.ExpectAsync("250 2.0.0 OK$"); // the data was read to its end: the NOOP is a command

        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAsync(new string('a', 98) + "\r\n.\r\n"); // 100 octets: fits
        await smtp.ExpectAsync("250 2.0.0 Ok: queued as ");

        await smtp.StartTransactionAsync();
        await smtp.SendAsync("BDAT 60\r\n" + new string('c', 60));
        await smtp.ExpectAsync("250 2.0.0 60 octets received$");
        await smtp.SendAsync("BDAT 60\r\n" + new string('d', 60));
        await smtp.ExpectAsync("552 5.3.4 Message size exceeds fixed maximum message size$");
        await smtp.SendAsync("BDAT 10 LAST\r\n" + new string('e', 10)); // the transaction is over: refused, its chunk dropped
        await smtp.ExpectAsync("503 5.5.1 Need MAIL command first$");
        await ExpectStateAsync(smtp, SmtpState.Ready);

        Assert.Single(smtp.Store.Accepted);
        Assert.Equal(0, smtp.Store.OpenBlobs);
        Assert.Equal(["size", "size", "bad_sequence", "bad_sequence"], smtp.Rejections);
    }

    [Fact]
    public async Task A_last_bdat_chunk_past_the_size_limit_is_refused()
    {
        await using var smtp = await InMemorySmtp.StartAsync(s => s.Options.Limits.MaxMessageSize = 100);
        await smtp.StartTransactionAsync();

        await smtp.SendAsync("BDAT 101 LAST\r\n" + new string('c', 101) + "NOOP\r\n");

        await smtp.ExpectAsync("552 5.3.4");
        await smtp.ExpectAsync("250 2.0.0 OK$");
        Assert.Empty(smtp.Store.Accepted);
    }

    [Fact]
    public async Task The_pipeline_s_body_refusal_reaches_the_client_and_nothing_is_kept()
    {
        await using var smtp = await InMemorySmtp.StartAsync(s => s.Pipeline.Body = new BodyDecision(new SmtpReply(554, new(5, 7, 1), "Looks like spam")));
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");

        await smtp.SendAsync("x\r\n.\r\n");

        await smtp.ExpectAsync("554 5.7.1 Looks like spam$");
        Assert.Empty(smtp.Store.Accepted);
        Assert.Equal(0, smtp.Store.OpenBlobs);
        Assert.Equal(["policy"], smtp.Rejections);
        await ExpectStateAsync(smtp, SmtpState.Ready);
    }

    [Fact]
    public async Task A_message_whose_every_copy_is_discarded_gets_250_and_is_not_stored()
    {
        await using var smtp = await InMemorySmtp.StartAsync(s => s.Pipeline.DiscardAll = true);
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");

        await smtp.SendAsync("x\r\n.\r\n");

        await smtp.ExpectAsync("250 2.0.0 Ok$");
        Assert.Empty(smtp.Store.Accepted);
        Assert.Equal(0, smtp.MessagesAccepted);
        await ExpectStateAsync(smtp, SmtpState.Ready);
    }

    [Fact]
    public async Task A_store_that_fails_gets_the_client_451_and_the_log_the_cause()
    {
        await using var smtp = await InMemorySmtp.StartAsync(s => s.Store.Failure = new IOException("disk on fire"));
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");

        await smtp.SendAsync("x\r\n.\r\n");

        await smtp.ExpectAsync("451 4.3.0 Local error in processing, try again later$");
        var logged = Assert.Single(smtp.Logs, e => e.EventId.Id == 1002);
        Assert.Equal("disk on fire", logged.Exception!.Message);
        Assert.Equal(0, smtp.Store.OpenBlobs);
        Assert.Equal(["storage"], smtp.Rejections);
        await ExpectStateAsync(smtp, SmtpState.Ready);
    }

    [Theory]
    [InlineData("DATA\r\n", "354", "more\r\n")]
    [InlineData("BDAT 15\r\n", "250 2.0.0 15 octets received", "BDAT 1000\r\nmore\r\n")]
    public async Task A_client_below_the_minimum_data_rate_after_the_grace_period_is_dropped_with_421(string start, string started, string more)
    {
        await using var smtp = await InMemorySmtp.StartAsync();
        await smtp.StartTransactionAsync();
        await smtp.SendAsync(start + (start == "DATA\r\n" ? "" : "Subject: slow\r\n"));
        await smtp.ExpectAsync(started); // the content has begun: its clock runs from here
        if (start == "DATA\r\n")
            await smtp.SendAsync("Subject: slow\r\n");

        smtp.Time.Advance(TimeSpan.FromSeconds(31)); // 30 s of grace, then 1024 B/s
        await smtp.SendAsync(more);

        await smtp.ExpectAsync("421 4.4.2 Data rate too low, closing connection$");
        Assert.True(await smtp.IsClosedAsync());
        Assert.Empty(smtp.Store.Accepted);
        Assert.Equal(0, smtp.Store.OpenBlobs);
        Assert.Equal(["data_rate"], smtp.Rejections);
    }

    [Fact]
    public async Task A_slow_client_inside_the_grace_period_is_served()
    {
        await using var smtp = await InMemorySmtp.StartAsync();
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAsync("Subject: slow\r\n");

        smtp.Time.Advance(TimeSpan.FromSeconds(29));
        await smtp.SendAsync("\r\nbody\r\n.\r\n");

        await smtp.ExpectAsync("250 2.0.0 Ok: queued as ");
    }

    [Fact]
    public async Task A_transfer_past_the_total_data_time_is_dropped_even_without_a_minimum_rate()
    {
        await using var smtp = await InMemorySmtp.StartAsync(s => s.Options.Limits.MinDataRate = 0);
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");

        smtp.Time.Advance(TimeSpan.FromMinutes(31));
        await smtp.SendAsync("Subject: late\r\n");

        await smtp.ExpectAsync("421 4.4.2 Data rate too low, closing connection$");
        Assert.True(await smtp.IsClosedAsync());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_client_that_goes_away_mid_message_leaves_nothing_behind(bool cutThrough)
    {
        await using var smtp = await InMemorySmtp.StartAsync(s =>
        {
            if (cutThrough)
                s.UseCutThrough();
        });
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAsync("Subject: half\r\n");

        await smtp.CloseAsync();

        Assert.True(await smtp.IsClosedAsync());
        Assert.Empty(smtp.Store.Accepted);
        Assert.Equal(0, smtp.Store.OpenBlobs);
        if (cutThrough) // the next hops' transaction is closed before the session is over, without its end of data
            Assert.Null(Assert.Single(smtp.CutThrough!.Transactions, t => t.Disposed).Content);
    }

    [Fact]
    public async Task With_cut_through_the_next_hops_answer_is_the_client_s_and_the_message_is_recorded()
    {
        await using var smtp = await InMemorySmtp.StartAsync(s => s.UseCutThrough());
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        await smtp.SendAndExpectAsync("MAIL FROM:<a@b.test> BODY=8BITMIME SIZE=1234 RET=FULL ENVID=e1", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<user@example.test>", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAsync("Subject: through\r\n\r\nbody\r\n.\r\n");

        await smtp.ExpectAsync("250 2.0.0 upstream took it$");

        var upstream = Assert.Single(smtp.CutThrough!.Transactions);
        var message = Assert.Single(smtp.Store.Accepted);
        Assert.Equal(new CutThroughStart(message.Envelope.Id, "a@b.test", message.Envelope.Source, BodyType.EightBitMime, false,
            DsnReturn.Full, "e1", 1234, false, smtp.Listener.CutThrough), upstream.Start);
        Assert.Equal(["user@example.test"], upstream.Recipients);
        Assert.True(upstream.ContentBegan);
        Assert.Equal("", upstream.StreamedPrefix); // nothing still to come could change what precedes the content: it streamed
        Assert.Equal(Latin1("Subject: through\r\n\r\nbody\r\n"), upstream.Streamed);
        Assert.Equal(Latin1("Subject: through\r\n\r\nbody\r\n"), upstream.Content);
        Assert.Equal(Latin1("Subject: through\r\n\r\nbody\r\n"), message.Body);
        Assert.False(upstream.StreamFailed);
        Assert.Equal(1, smtp.MessagesAccepted);
    }

    [Fact]
    public async Task With_cut_through_a_next_hop_s_refusal_at_rcpt_reaches_the_client_and_the_recipient_is_dropped()
    {
        var refused = new SmtpReply(550, new(5, 1, 1), "No such user here");
        await using var smtp = await InMemorySmtp.StartAsync(s => s.UseCutThrough().Rcpt = r => r.Address == "gone@example.test" ? refused : null);
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        await smtp.SendAndExpectAsync("MAIL FROM:<a@b.test>", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<gone@example.test>", "550 5.1.1 No such user here$");
        await smtp.SendAndExpectAsync("RCPT TO:<user@example.test>", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAsync("x\r\n.\r\n");
        await smtp.ExpectAsync("250");

        Assert.Equal(["user@example.test"], Assert.Single(smtp.Store.Accepted).Envelope.Recipients.Select(r => r.Address));
        Assert.Equal(["upstream"], smtp.Rejections);
    }

    [Fact]
    public async Task With_cut_through_a_refusal_at_the_end_of_data_reaches_the_client_and_nothing_is_stored()
    {
        await using var smtp = await InMemorySmtp.StartAsync(s => s.UseCutThrough().Outcome = new CutThroughOutcome(new SmtpReply(554, new(5, 6, 0), "Content rejected"), null));
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");

        await smtp.SendAsync("x\r\n.\r\n");

        await smtp.ExpectAsync("554 5.6.0 Content rejected$");
        Assert.Empty(smtp.Store.Accepted);
        Assert.Equal(0, smtp.Store.OpenBlobs);
        Assert.Equal(["upstream"], smtp.Rejections);
        Assert.True(Assert.Single(smtp.CutThrough!.Transactions).Disposed);
    }

    [Fact]
    public async Task With_cut_through_rset_and_a_refused_message_let_the_next_hops_go()
    {
        await using var smtp = await InMemorySmtp.StartAsync(s => s.UseCutThrough());
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("RSET", "250");
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAsync("bare\nline\r\n.\r\n");
        await smtp.ExpectAsync("550 5.6.0");

        var (first, second) = (smtp.CutThrough!.Transactions[0], smtp.CutThrough.Transactions[1]);
        Assert.True(first.Disposed);
        Assert.False(first.ContentBegan);
        Assert.True(second.Disposed);
        Assert.True(second.StreamFailed); // the content that streamed on never reaches its end of data
        Assert.Null(second.Content);
    }

    [Fact]
    public async Task With_cut_through_and_a_body_stage_still_to_decide_the_content_goes_at_the_end_of_data()
    {
        await using var smtp = await InMemorySmtp.StartAsync(s =>
        {
            s.UseCutThrough();
            s.Pipeline.FieldsBeforeBody = null;
            s.Pipeline.Body = new BodyDecision(null, AddedFields: "X-Checked: yes\r\n");
        });
        await smtp.StartTransactionAsync();
        await smtp.SendAsync("BDAT 3 LAST\r\nx\r\n");

        await smtp.ExpectAsync("250 2.0.0 upstream took it$");

        var upstream = Assert.Single(smtp.CutThrough!.Transactions);
        Assert.Null(upstream.StreamedPrefix);
        Assert.Empty(upstream.Streamed);
        Assert.Equal(Latin1("X-Checked: yes\r\nx\r\n"), upstream.Content);
        Assert.Equal("X-Checked: yes\r\n", Assert.Single(smtp.Store.Accepted).HeaderPrefix);
    }
}
