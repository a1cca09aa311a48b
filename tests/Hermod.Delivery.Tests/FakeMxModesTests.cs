using System.Net;
using Hermod.TestKit;

namespace Hermod.Delivery.Tests;

/// <summary>
/// The fake MX's RCPT and end-of-DATA answers, driven straight from a raw SMTP client (no Hermod involved), so that
/// delivery tests relying on them fail for Hermod's reasons only. Each test starts its own fake MX on its own port.
/// </summary>
public sealed class FakeMxModesTests
{
    private const string Accept = "127.0.0.40";
    private const string Other = "127.0.0.41";
    private const string Message = "Subject: fake MX modes\r\n\r\nhello\r\n.\r\n";
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(10);

    private static Task<FakeMx> StartAsync(string address, string mode, string? other = null) =>
        FakeMx.StartAsync(other is null
            ? new Dictionary<string, string> { [address] = mode }
            : new Dictionary<string, string> { [address] = mode, [other] = "accept" });

    private static async Task<SmtpTranscript> GreetAsync(FakeMx mx, string address)
    {
        var smtp = await SmtpTranscript.ConnectAsync(new IPEndPoint(IPAddress.Parse(address), mx.Port));
        await smtp.ExpectAsync("220");
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        return smtp;
    }

    /// <summary>MAIL, each RCPT accepted, DATA, the content and the final dot; returns the reply to the final dot.</summary>
    private static async Task<string> TransactionAsync(SmtpTranscript smtp, params string[] recipients)
    {
        await smtp.SendAndExpectAsync("MAIL FROM:<sender@client.test>", "250");
        foreach (var rcpt in recipients)
            await smtp.SendAndExpectAsync($"RCPT TO:<{rcpt}>", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAsync(Message);
        return await smtp.ReadReplyAsync();
    }

    /// <summary>Asserts that no reply comes within a second, then disconnects.</summary>
    private static async Task AssertNoReplyThenDisconnectAsync(SmtpTranscript smtp)
    {
        var reply = smtp.ReadReplyAsync();
        await Assert.ThrowsAsync<TimeoutException>(() => reply.WaitAsync(TimeSpan.FromSeconds(1)));
        await smtp.DisposeAsync();
        try
        {
            await reply.WaitAsync(TimeSpan.FromSeconds(5)); // the pending read ends with the connection; observe it
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or TimeoutException)
        {
        }
    }

    /// <summary>Stops the fake MX and asserts its stderr shows no traceback (a stall ended by a disconnect is not an error).</summary>
    private static async Task AssertStopsQuietlyAsync(FakeMx mx)
    {
        await mx.DisposeAsync();
        Assert.DoesNotContain("Traceback", mx.Log);
        Assert.DoesNotContain("Task was destroyed", mx.Log);
    }

    [Fact]
    public async Task A_stallrcpt_recipient_is_never_answered_and_the_client_can_disconnect()
    {
        var mx = await StartAsync(Accept, "accept");
        try
        {
            var smtp = await GreetAsync(mx, Accept);
            await smtp.SendAndExpectAsync("MAIL FROM:<sender@client.test>", "250");
            await smtp.SendLineAsync("RCPT TO:<stallrcpt-1@dest.test>");
            await AssertNoReplyThenDisconnectAsync(smtp);
            Assert.Equal(1, await mx.WaitForCountAsync(Accept, FakeMx.RcptsCounter, 1, Within));

            // The host goes on serving: a new connection, an ordinary recipient, a message.
            await using var again = await GreetAsync(mx, Accept);
            Assert.StartsWith("250 ", await TransactionAsync(again, "user@dest.test"));
            Assert.Equal(2, mx.RcptCommands(Accept));
            Assert.Equal(2, mx.Connections(Accept));
            Assert.Equal(["user@dest.test"], Assert.Single(mx.Received(Accept)).Recipients);
        }
        finally
        {
            await AssertStopsQuietlyAsync(mx);
        }
    }

    [Theory]
    [InlineData("data-tempfail", "451 4.3.0 ")]
    [InlineData("data-reject", "554 5.6.0 ")]
    public async Task A_data_refusing_host_accepts_MAIL_and_RCPT_then_refuses_every_final_dot_and_stores_nothing(string mode, string expected)
    {
        await using var mx = await StartAsync(Accept, mode);
        await using var smtp = await GreetAsync(mx, Accept);
        Assert.StartsWith(expected, await TransactionAsync(smtp, "user@dest.test"));
        Assert.StartsWith(expected, await TransactionAsync(smtp, "user@dest.test", "other@dest.test"));
        await smtp.SendAndExpectAsync("QUIT", "221");
        Assert.Equal(3, mx.RcptCommands(Accept));
        Assert.Equal(2, mx.DataTransactions(Accept));
        Assert.Empty(mx.Received(Accept));
    }

    [Fact]
    public async Task A_data_stall_host_never_answers_the_final_dot_and_stores_nothing()
    {
        var mx = await StartAsync(Accept, "data-stall");
        try
        {
            var smtp = await GreetAsync(mx, Accept);
            await smtp.SendAndExpectAsync("MAIL FROM:<sender@client.test>", "250");
            await smtp.SendAndExpectAsync("RCPT TO:<user@dest.test>", "250");
            await smtp.SendAndExpectAsync("DATA", "354");
            await smtp.SendAsync(Message);
            await AssertNoReplyThenDisconnectAsync(smtp);
            Assert.Equal(1, await mx.WaitForCountAsync(Accept, FakeMx.DatasCounter, 1, Within));
            Assert.Equal(1, mx.RcptCommands(Accept));
            Assert.Empty(mx.Received(Accept));
        }
        finally
        {
            await AssertStopsQuietlyAsync(mx);
        }
    }

    [Fact]
    public async Task A_data_tempfail_once_host_refuses_the_first_final_dot_then_accepts()
    {
        await using var mx = await StartAsync(Accept, "data-tempfail-once");
        await using (var smtp = await GreetAsync(mx, Accept))
        {
            Assert.StartsWith("451 4.3.0 ", await TransactionAsync(smtp, "first@dest.test"));
            Assert.StartsWith("250 ", await TransactionAsync(smtp, "second@dest.test"));
        }
        await using (var smtp = await GreetAsync(mx, Accept)) // "once" is per host, not per connection
            Assert.StartsWith("250 ", await TransactionAsync(smtp, "third@dest.test"));
        Assert.Equal(3, mx.DataTransactions(Accept));
        Assert.Equal([["second@dest.test"], ["third@dest.test"]], mx.Received(Accept).Select(m => m.Recipients));
    }

    [Theory]
    [InlineData("datareject-1@dest.test", "554 5.6.0 ")]
    [InlineData("DataTempfail-1@dest.test", "451 4.3.0 ")]
    public async Task One_data_prefixed_recipient_refuses_the_whole_transaction_at_that_host_only(string recipient, string expected)
    {
        await using var mx = await StartAsync(Accept, "accept", Other);
        await using (var smtp = await GreetAsync(mx, Accept))
        {
            // The RCPTs are accepted; the one reply to the final dot speaks for the transaction, ordinary recipient included.
            Assert.StartsWith(expected, await TransactionAsync(smtp, "user@dest.test", recipient));
            Assert.StartsWith("250 ", await TransactionAsync(smtp, "user@dest.test"));
        }
        await using (var smtp = await GreetAsync(mx, Other))
            Assert.StartsWith("250 ", await TransactionAsync(smtp, "user@other.test"));
        Assert.Equal(2, mx.DataTransactions(Accept));
        Assert.Equal(3, mx.RcptCommands(Accept));
        Assert.Equal(["user@dest.test"], Assert.Single(mx.Received(Accept)).Recipients);
        Assert.Equal(1, mx.DataTransactions(Other));
        Assert.Single(mx.Received(Other));
    }

    [Fact]
    public async Task Datareject_wins_over_datatempfail_in_one_transaction()
    {
        await using var mx = await StartAsync(Accept, "accept");
        await using var smtp = await GreetAsync(mx, Accept);
        Assert.StartsWith("554 5.6.0 ", await TransactionAsync(smtp, "datatempfail@dest.test", "datareject@dest.test"));
        Assert.Empty(mx.Received(Accept));
    }

    [Fact]
    public async Task The_counters_count_every_RCPT_and_every_final_dot_whatever_the_answer()
    {
        await using var mx = await StartAsync(Accept, "accept", Other);
        Assert.Equal(0, mx.RcptCommands(Accept)); // before anything happened
        Assert.Equal(0, mx.DataTransactions(Accept));
        await using (var smtp = await GreetAsync(mx, Accept))
        {
            await smtp.SendAndExpectAsync("RCPT TO:<early@dest.test>", "503"); // out of sequence: seen all the same
            await smtp.SendAndExpectAsync("MAIL FROM:<sender@client.test>", "250");
            await smtp.SendAndExpectAsync("RCPT TO:<reject-1@dest.test>", "550 5.1.1");
            await smtp.SendAndExpectAsync("RCPT TO:<tempfail-1@dest.test>", "451 4.2.0");
            await smtp.SendAndExpectAsync("RCPT TO:<user@dest.test>", "250");
            await smtp.SendAndExpectAsync("DATA", "354");
            await smtp.SendAsync(Message);
            await smtp.ExpectAsync("250");
            Assert.StartsWith("554 5.6.0 ", await TransactionAsync(smtp, "datareject@dest.test"));
            await smtp.SendAndExpectAsync("QUIT", "221");
        }
        Assert.Equal(5, mx.Count(Accept, FakeMx.RcptsCounter));
        Assert.Equal(2, mx.Count(Accept, FakeMx.DatasCounter));
        Assert.Equal(1, mx.Count(Accept, FakeMx.ConnectionsCounter));
        Assert.Equal(["user@dest.test"], Assert.Single(mx.Received(Accept)).Recipients);
        Assert.Equal(0, mx.RcptCommands(Other)); // per host
        Assert.Equal(0, mx.Connections(Other));
    }
}
