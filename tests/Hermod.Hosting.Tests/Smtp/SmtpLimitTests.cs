using System.Net;
using System.Net.Sockets;
using System.Text;
using Hermod.Hosting.TestKit;
using Hermod.TestKit;
using static Hermod.Hosting.TestKit.HostKit;

namespace Hermod.Hosting.Tests.Smtp;

/// <summary>Every limit of the SMTP server, each configured small and hit.</summary>
public sealed class SmtpLimitTests
{
    private static async Task<int> CountMessagesAsync(TestHost host) => (await host.Store.ListAsync(null, 1000, default)).Count;

    [Fact]
    public async Task A_command_line_over_the_limit_gets_500_and_the_session_goes_on()
    {
        await using var host = await TestHost.StartAsync();
        await using var smtp = await ConnectAndGreetAsync(host);
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        await smtp.SendAndExpectAsync("NOOP " + new string('x', 505), "250"); // 510 + CRLF = 512: at the limit
        await smtp.SendAndExpectAsync("NOOP " + new string('x', 506), @"500 5\.5\.6 Line too long");
        await smtp.SendAndExpectAsync("NOOP", "250");
    }

    [Fact]
    public async Task Too_many_errors_end_the_session_with_421()
    {
        await using var host = await TestHost.StartAsync(o => o.Smtp.Limits.MaxErrors = 3);
        await using var smtp = await ConnectAndGreetAsync(host);
        await smtp.SendAndExpectAsync("BOGUS", "500");
        await smtp.SendAndExpectAsync("BOGUS", "500");
        await smtp.SendAndExpectAsync("BOGUS", "500");
        await smtp.ExpectAsync(@"421 4\.7\.0 Too many errors");
        Assert.True(await smtp.IsClosedAsync());
    }

    [Fact]
    public async Task Message_size_is_enforced_on_size_parameter_data_and_bdat()
    {
        await using var host = await TestHost.StartAsync(o => o.Smtp.Limits.MaxMessageSize = 2048);
        await using var smtp = await ConnectAndGreetAsync(host);
        await smtp.SendAndExpectAsync("EHLO client.test", "250.*SIZE 2048");
        await smtp.SendAndExpectAsync("MAIL FROM:<a@b.test> SIZE=2049", @"552 5\.3\.4");
        await smtp.SendAndExpectAsync("MAIL FROM:<a@b.test> SIZE=2048", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<u@example.test>", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        var line = new string('a', 98) + "\r\n";
        await smtp.SendAsync(string.Concat(Enumerable.Repeat(line, 21)) + ".\r\n"); // 2100 bytes
        await smtp.ExpectAsync(@"552 5\.3\.4");

        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAsync(string.Concat(Enumerable.Repeat(line, 20)) + ".\r\n"); // 2000 bytes: fits
        await smtp.ExpectAsync("250 2.0.0 Ok");

        await smtp.StartTransactionAsync();
        var chunk = string.Concat(Enumerable.Repeat(line, 11));
        await smtp.SendAsync($"BDAT {chunk.Length}\r\n{chunk}");
        await smtp.ExpectAsync("250");
        await smtp.SendAsync($"BDAT {chunk.Length} LAST\r\n{chunk}");
        await smtp.ExpectAsync(@"552 5\.3\.4");
        await smtp.SendAndExpectAsync("NOOP", "250");
        Assert.Equal(1, await CountMessagesAsync(host));
    }

    [Fact]
    public async Task Recipients_past_the_limit_get_452()
    {
        await using var host = await TestHost.StartAsync(o => o.Smtp.Limits.MaxRecipients = 2);
        await using var smtp = await ConnectAndGreetAsync(host);
        await smtp.StartTransactionAsync(to: "a@example.test");
        await smtp.SendAndExpectAsync("RCPT TO:<b@example.test>", "250");
        await smtp.SendAndExpectAsync("RCPT TO:<c@example.test>", @"452 4\.5\.3 Too many recipients");
        await smtp.SendAndExpectAsync("DATA", "354");
        var id = QueueId(await smtp.SendAndExpectAsync("x\r\n.", "250"));
        Assert.Equal(2, (await host.Store.GetAsync(id, default))!.Deliveries.Count);
    }

    [Fact]
    public async Task Connections_past_the_total_limit_get_421()
    {
        await using var host = await TestHost.StartAsync(o => o.Smtp.Limits.MaxConnections = 2);
        await using var a = await ConnectAndGreetAsync(host);
        await using var b = await ConnectAndGreetAsync(host);
        await using (var c = await SmtpTranscript.ConnectAsync(host.Smtp()))
        {
            await c.ExpectAsync(@"421 4\.7\.0 Too many connections");
            Assert.True(await c.IsClosedAsync());
        }
        await a.SendAndExpectAsync("QUIT", "221");
        Assert.True(await a.IsClosedAsync());
        await Task.Delay(200); // the slot is released when the session ends
        await using var d = await ConnectAndGreetAsync(host);
    }

    [Fact]
    public async Task Connections_past_the_per_address_limit_get_421_while_other_addresses_get_in()
    {
        await using var host = await TestHost.StartAsync(o => o.Smtp.Limits.MaxConnectionsPerIp = 1);
        await using var a = await ConnectAndGreetAsync(host);
        await using (var b = await SmtpTranscript.ConnectAsync(host.Smtp()))
            await b.ExpectAsync(@"421 4\.7\.0 Too many connections from your address");

        using var other = new TcpClient(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
        await other.ConnectAsync(host.Smtp());
        var buffer = new byte[512];
        var n = await other.GetStream().ReadAsync(buffer);
        Assert.StartsWith("220 ", Encoding.ASCII.GetString(buffer, 0, n));
    }

    [Fact]
    public async Task An_idle_client_is_dropped_with_421_after_the_command_timeout()
    {
        await using var host = await TestHost.StartAsync(o => o.Smtp.Timeouts.Command = TimeSpan.FromMilliseconds(300));
        await using var smtp = await ConnectAndGreetAsync(host);
        await smtp.ExpectAsync(@"421 4\.4\.2 Timeout");
        Assert.True(await smtp.IsClosedAsync());
    }

    [Fact]
    public async Task The_command_timeout_counts_from_each_command_so_a_client_that_pauses_under_it_again_and_again_is_served()
    {
        await using var host = await TestHost.StartAsync(o => o.Smtp.Timeouts.Command = TimeSpan.FromMilliseconds(600));
        await using var smtp = await ConnectAndGreetAsync(host);
        for (var i = 0; i < 5; i++) // 1.5 s in all, well past one timeout
        {
            await Task.Delay(300);
            await smtp.SendAndExpectAsync("NOOP", "250");
        }
        await smtp.ExpectAsync(@"421 4\.4\.2 Timeout"); // and quiet for the whole timeout: dropped
        Assert.True(await smtp.IsClosedAsync());
    }

    [Fact]
    public async Task A_stalled_data_transfer_is_dropped_after_the_data_timeout()
    {
        await using var host = await TestHost.StartAsync(o => o.Smtp.Timeouts.DataBlock = TimeSpan.FromMilliseconds(300));
        await using var smtp = await ConnectAndGreetAsync(host);
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAsync("Subject: half\r\n");
        await smtp.ExpectAsync(@"421 4\.4\.2 Timeout");
        Assert.True(await smtp.IsClosedAsync());
        Assert.Equal(0, await CountMessagesAsync(host));
    }

    [Fact]
    public async Task A_client_below_the_minimum_data_rate_is_dropped()
    {
        await using var host = await TestHost.StartAsync(o =>
        {
            o.Smtp.Limits.MinDataRate = 100_000;
            o.Smtp.Limits.MinDataRateGrace = TimeSpan.FromMilliseconds(200);
        });
        await using var smtp = await ConnectAndGreetAsync(host);
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");
        string? reply = null;
        for (var i = 0; i < 20 && reply is null; i++) // a few bytes every 100 ms: far below 100 kB/s
        {
            try
            {
                await smtp.SendAsync("slow line\r\n");
            }
            catch (IOException)
            {
                break;
            }
            await Task.Delay(100);
        }
        await smtp.ExpectAsync(@"421 4\.4\.2 Data rate too low");
        Assert.Equal(0, await CountMessagesAsync(host));
    }

    [Theory]
    [InlineData(998, true)]
    [InlineData(999, false)]
    public async Task Text_lines_are_limited_to_1000_octets(int length, bool accepted)
    {
        await using var host = await TestHost.StartAsync();
        await using var smtp = await ConnectAndGreetAsync(host);
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAsync("Subject: long\r\n\r\n" + new string('x', length) + "\r\n.\r\n");
        await smtp.ExpectAsync(accepted ? "250" : @"554 5\.6\.0");
    }

    [Fact]
    public async Task The_header_block_is_limited()
    {
        await using var host = await TestHost.StartAsync(o => o.Smtp.Limits.MaxHeaderSize = 1024);
        await using var smtp = await ConnectAndGreetAsync(host);
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");
        var header = string.Concat(Enumerable.Range(0, 30).Select(i => $"X-Header-{i}: {new string('v', 40)}\r\n"));
        await smtp.SendAsync(header + "\r\nbody\r\n.\r\n");
        await smtp.ExpectAsync(@"552 5\.3\.4 Header block");
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAsync("Subject: small\r\n\r\n" + header + ".\r\n"); // the same text in the body is fine
        await smtp.ExpectAsync("250");
    }
}
