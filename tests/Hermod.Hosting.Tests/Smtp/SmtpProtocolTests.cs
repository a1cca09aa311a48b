using System.Text;
using Hermod.Core.Storage;
using Hermod.Hosting.TestKit;
using Hermod.TestKit;
using static Hermod.Hosting.TestKit.HostKit;

namespace Hermod.Hosting.Tests.Smtp;

/// <summary>Transcripts against a real listener on 127.0.0.1:0: commands, sequencing, pipelining, DATA and BDAT.</summary>
public sealed class SmtpProtocolTests : IAsyncLifetime
{
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private Task<SmtpTranscript> ConnectAsync(string listener = "mx") => ConnectAndGreetAsync(_host, listener);

    [Fact]
    public async Task Ehlo_advertises_the_extensions()
    {
        await using var smtp = await ConnectAsync();
        var reply = await smtp.SendAndExpectAsync("EHLO client.test", "250-mx.example.test Hello client.test");
        foreach (var ext in new[] { "PIPELINING", "SIZE 52428800", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING", "DSN", "STARTTLS", "HELP" })
            Assert.Contains("\n250" + (ext == "HELP" ? " " : "-") + ext, reply);
        Assert.DoesNotContain("AUTH", reply); // ingress listener: auth none
    }

    [Fact]
    public async Task Helo_greets_without_extensions()
    {
        await using var smtp = await ConnectAsync();
        var reply = await smtp.SendAndExpectAsync("HELO client.test", "250 mx.example.test Hello client.test");
        Assert.DoesNotContain("PIPELINING", reply);
        await smtp.SendAndExpectAsync("EHLO", "501 5.5.4");
    }

    [Fact]
    public async Task A_message_is_stored_with_envelope_and_trace_header_then_acknowledged()
    {
        await using var smtp = await ConnectAsync();
        await smtp.StartTransactionAsync("sender@remote.test", "user@example.test");
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAsync("Subject: hi\r\n\r\nline one\r\n..dot line\r\n.\r\n");
        var reply = await smtp.ExpectAsync(@"250 2\.0\.0 Ok: queued as [0-9A-Z]{20}$");
        var id = QueueId(reply);

        var message = await _host.Store.GetAsync(id, default);
        Assert.NotNull(message);
        Assert.Equal("sender@remote.test", message.Envelope.Sender);
        Assert.Equal(["user@example.test"], message.Deliveries.Select(d => d.Recipient));
        Assert.All(message.Deliveries, d => Assert.Equal(DeliveryState.Queued, d.State));
        Assert.Equal("mx", message.Envelope.Source.Listener);
        Assert.Equal("client.test", message.Envelope.Source.Helo);

        var stored = await StoredContentAsync(_host, id);
        Assert.StartsWith("Received: from client.test ([127.0.0.1])\r\n\tby mx.example.test (Hermod) with ESMTP id " + id, stored);
        Assert.Contains("\tfor <user@example.test>;", stored);
        Assert.Equal("Subject: hi\r\n\r\nline one\r\n.dot line\r\n", Body(stored));
        Assert.Equal(Encoding.UTF8.GetByteCount(stored), message.Size);
    }

    [Fact]
    public async Task Several_recipients_get_one_delivery_each()
    {
        await using var smtp = await ConnectAsync();
        await smtp.StartTransactionAsync(to: "a@example.test");
        await smtp.SendAndExpectAsync("RCPT TO:<b@EXAMPLE.test>", "250 2.1.5");
        await smtp.SendAndExpectAsync("RCPT TO:<Postmaster>", "250 2.1.5");
        await smtp.SendAndExpectAsync("DATA", "354");
        var id = QueueId(await smtp.SendAndExpectAsync("x\r\n.", "250"));
        var message = await _host.Store.GetAsync(id, default);
        Assert.Equal(["a@example.test", "b@EXAMPLE.test", "postmaster"], message!.Deliveries.Select(d => d.Recipient));
        Assert.DoesNotContain("\tfor <", await StoredContentAsync(_host, id)); // "for" only names a single recipient
    }

    [Theory]
    [InlineData("MAIL FROM:<a@b.test>", "503 5.5.1 Send HELO/EHLO first", false)]
    [InlineData("RCPT TO:<u@example.test>", "503 5.5.1 Need MAIL command first", true)]
    [InlineData("DATA", "503 5.5.1 Need MAIL command first", true)]
    [InlineData("BDAT 0 LAST", "503 5.5.1 Need MAIL command first", true)]
    [InlineData("STARTTLS", "503 5.5.1 Send HELO/EHLO first", false)]
    public async Task Commands_out_of_sequence_get_503(string command, string expected, bool greet)
    {
        await using var smtp = await ConnectAsync();
        if (greet)
            await smtp.SendAndExpectAsync("EHLO client.test", "250");
        await smtp.SendAndExpectAsync(command, expected.Replace(".", @"\.", StringComparison.Ordinal));
        await smtp.SendAndExpectAsync("NOOP", "250"); // the session goes on
    }

    [Fact]
    public async Task Nested_mail_and_data_without_valid_recipients_are_refused()
    {
        await using var smtp = await ConnectAsync();
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        await smtp.SendAndExpectAsync("MAIL FROM:<a@b.test>", "250");
        await smtp.SendAndExpectAsync("MAIL FROM:<a@b.test>", @"503 5\.5\.1 Nested MAIL");
        await smtp.SendAndExpectAsync("RCPT TO:<u@elsewhere.test>", @"550 5\.7\.1");
        await smtp.SendAndExpectAsync("DATA", @"554 5\.5\.1 No valid recipients");
    }

    [Theory]
    [InlineData("FOO bar", @"500 5\.5\.2")]
    [InlineData("MAIL FROM:a@b.test", @"501 5\.5\.2")]
    [InlineData("MAIL FROM:<a@b.test> BOGUS=1", @"555 5\.5\.4")]
    [InlineData("MAIL FROM:<a@b.test> SIZE=x", @"501 5\.5\.4")]
    [InlineData("MAIL FROM:<a@b.test> BODY=BINARYMIME", @"501 5\.5\.4")]
    [InlineData("MAIL FROM:<a@@b.test>", @"501 5\.1\.7")]
    [InlineData("MAIL FROM:<a@b.test> SIZE=1 SIZE=2", @"501 5\.5\.4 Duplicate")]
    public async Task Bad_commands_get_500_501_or_555(string command, string expected)
    {
        await using var smtp = await ConnectAsync();
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        await smtp.SendAndExpectAsync(command, expected);
    }

    [Fact]
    public async Task Rset_noop_vrfy_help_and_quit()
    {
        await using var smtp = await ConnectAsync();
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        await smtp.SendAndExpectAsync("MAIL FROM:<a@b.test>", "250");
        await smtp.SendAndExpectAsync("RSET", @"250 2\.0\.0");
        await smtp.SendAndExpectAsync("RCPT TO:<u@example.test>", "503"); // the transaction is gone
        await smtp.SendAndExpectAsync("NOOP", @"250 2\.0\.0");
        await smtp.SendAndExpectAsync("VRFY someone", @"252 2\.5\.0");
        await smtp.SendAndExpectAsync("HELP", @"214 2\.0\.0");
        await smtp.SendAndExpectAsync("QUIT", @"221 2\.0\.0");
        Assert.True(await smtp.IsClosedAsync());
    }

    [Fact]
    public async Task A_pipelined_batch_is_answered_in_order()
    {
        await using var smtp = await ConnectAsync();
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        await smtp.SendAsync("MAIL FROM:<a@b.test>\r\nRCPT TO:<x@example.test>\r\nRCPT TO:<y@elsewhere.test>\r\nRCPT TO:<z@example.test>\r\nDATA\r\n");
        await smtp.ExpectAsync("250 2.1.0");
        await smtp.ExpectAsync("250 2.1.5");
        await smtp.ExpectAsync("550 5.7.1");
        await smtp.ExpectAsync("250 2.1.5");
        await smtp.ExpectAsync("354");
        await smtp.SendAsync("Subject: p\r\n\r\nbody\r\n.\r\nMAIL FROM:<c@d.test>\r\nRCPT TO:<w@example.test>\r\nDATA\r\n");
        var first = QueueId(await smtp.ExpectAsync("250 2.0.0 Ok: queued"));
        await smtp.ExpectAsync("250 2.1.0");
        await smtp.ExpectAsync("250 2.1.5");
        await smtp.ExpectAsync("354");
        await smtp.SendAsync("second\r\n.\r\nQUIT\r\n");
        var second = QueueId(await smtp.ExpectAsync("250 2.0.0 Ok: queued"));
        await smtp.ExpectAsync("221");
        Assert.Equal(["x@example.test", "z@example.test"], (await _host.Store.GetAsync(first, default))!.Deliveries.Select(d => d.Recipient));
        Assert.Equal("c@d.test", (await _host.Store.GetAsync(second, default))!.Envelope.Sender);
    }

    [Fact]
    public async Task Bdat_chunks_are_stored_byte_exact()
    {
        await using var smtp = await ConnectAsync();
        await smtp.StartTransactionAsync();
        var part1 = "Subject: chunks\r\n\r\n.leading dot\r\n.\r\n"; // no dot-stuffing and no end-of-data in BDAT
        var part2 = "last part\r\n";
        await smtp.SendAsync($"BDAT {part1.Length}\r\n{part1}BDAT {part2.Length} LAST\r\n{part2}");
        await smtp.ExpectAsync($"250 2.0.0 {part1.Length} octets received");
        var id = QueueId(await smtp.ExpectAsync("250 2.0.0 Ok: queued"));
        Assert.Equal(part1 + part2, Body(await StoredContentAsync(_host, id)));
    }

    [Fact]
    public async Task Bdat_zero_last_ends_the_message_and_rset_aborts_a_sequence()
    {
        await using var smtp = await ConnectAsync();
        await smtp.StartTransactionAsync();
        await smtp.SendAsync("BDAT 3\r\nab\n");
        await smtp.ExpectAsync("250 2.0.0 3 octets");
        await smtp.SendAndExpectAsync("MAIL FROM:<a@b.test>", "503 5.5.1 Only BDAT");
        await smtp.SendAndExpectAsync("RSET", "250");
        await smtp.StartTransactionAsync();
        await smtp.SendAsync("BDAT 4\r\nab\r\n");
        await smtp.ExpectAsync("250 2.0.0 4 octets");
        var id = QueueId(await smtp.SendAndExpectAsync("BDAT 0 LAST", "250 2.0.0 Ok: queued"));
        Assert.Equal("ab\r\n", Body(await StoredContentAsync(_host, id)));
    }

    [Fact]
    public async Task A_bdat_chunk_out_of_sequence_is_read_and_dropped_never_run_as_commands()
    {
        await using var smtp = await ConnectAsync();
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        var chunk = "QUIT\r\n";
        await smtp.SendAsync($"BDAT {chunk.Length} LAST\r\n{chunk}NOOP\r\n");
        await smtp.ExpectAsync("503 5.5.1");
        await smtp.ExpectAsync("250 2.0.0 OK"); // NOOP: the QUIT inside the chunk did not run
    }

    [Fact]
    public async Task A_bdat_without_a_size_closes_the_session()
    {
        await using var smtp = await ConnectAsync();
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("BDAT lots", "501 5.5.4");
        await smtp.ExpectAsync("421");
        Assert.True(await smtp.IsClosedAsync());
    }

    [Fact]
    public async Task Dsn_parameters_are_validated_and_stored()
    {
        await using var smtp = await ConnectAsync();
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        await smtp.SendAndExpectAsync("MAIL FROM:<a@b.test> RET=HDRS ENVID=QQ+2B1 BODY=8BITMIME SIZE=100", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<x@example.test> NOTIFY=NEVER,SUCCESS", @"501 5\.5\.4 Bad value for NOTIFY");
        await smtp.SendAndExpectAsync("RCPT TO:<x@example.test> ORCPT=rfc822;x+4", @"501 5\.5\.4 Bad value for ORCPT");
        await smtp.SendAndExpectAsync("RCPT TO:<x@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;orig+40example.test", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<y@example.test> NOTIFY=NEVER", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        var id = QueueId(await smtp.SendAndExpectAsync("x\r\n.", "250"));
        var message = (await _host.Store.GetAsync(id, default))!;
        Assert.Equal(DsnReturn.Headers, message.Envelope.Ret);
        Assert.Equal("QQ+1", message.Envelope.EnvelopeId);
        Assert.Equal(BodyType.EightBitMime, message.Envelope.Body);
        Assert.Equal(DsnNotify.Success | DsnNotify.Failure, message.Deliveries[0].Notify);
        Assert.Equal("rfc822;orig@example.test", message.Deliveries[0].OriginalRecipient);
        Assert.Equal(DsnNotify.Never, message.Deliveries[1].Notify);
        Assert.Null(message.Deliveries[1].OriginalRecipient);
    }

    [Fact]
    public async Task Non_ascii_addresses_need_smtputf8()
    {
        await using var smtp = await ConnectAsync();
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        await smtp.SendAndExpectAsync("MAIL FROM:<jürgen@b.test>", @"553 5\.6\.7");
        await smtp.SendAndExpectAsync("MAIL FROM:<jürgen@b.test> SMTPUTF8", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<grüße@example.test>", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        var id = QueueId(await smtp.SendAndExpectAsync("Subject: ü\r\n\r\nü\r\n.", "250"));
        var message = (await _host.Store.GetAsync(id, default))!;
        Assert.True(message.Envelope.SmtpUtf8);
        Assert.Equal("grüße@example.test", message.Deliveries[0].Recipient);
        Assert.Contains("with UTF8SMTP id", await StoredContentAsync(_host, id));
    }

    [Fact]
    public async Task Ingress_refuses_relay_to_foreign_domains()
    {
        await using var smtp = await ConnectAsync();
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        await smtp.SendAndExpectAsync("MAIL FROM:<a@b.test>", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<u@elsewhere.test>", @"550 5\.7\.1 Relaying denied");
        await smtp.SendAndExpectAsync("RCPT TO:<u@sub.example.test>", @"550 5\.7\.1");
        await smtp.SendAndExpectAsync("RCPT TO:<u@example.test>", "250");
    }
}
