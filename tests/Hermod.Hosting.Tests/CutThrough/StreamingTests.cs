using System.Net;
using System.Net.Sockets;
using System.Text;
using Hermod.Core.Configuration;
using Hermod.Core.Storage;
using Hermod.Delivery.Configuration;
using Hermod.Hosting.TestKit;
using Hermod.Smtp.Configuration;
using Hermod.TestKit;

namespace Hermod.Hosting.Tests.CutThrough;

/// <summary>
/// The body goes on to the next hop while it arrives (when nothing still to come can change what precedes it), and a
/// body refused at its end never reaches the next hop's end of data.
/// </summary>
public sealed class StreamingTests
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(20);

    private static Task<TestHost> StartHostAsync(int nextHopPort) => TestHost.StartAsync(o =>
    {
        o.Smtp.LocalDomains = ["stream.test"];
        o.Delivery.Routes = [new RouteOptions { Domain = "stream.test", Host = "127.0.0.1", Port = nextHopPort, Tls = OutboundTls.None }];
        o.Smtp.Listeners = [new ListenerOptions { Name = "mx", Address = new IPEndPoint(IPAddress.Loopback, 0), Role = ListenerRole.Ingress, Tls = TlsMode.None }];
        o.Smtp.Listeners[0].CutThrough = new CutThroughOptions { Enabled = true, RcptTimeout = TimeSpan.FromSeconds(5), DataTimeout = TimeSpan.FromSeconds(10) };
        o.Delivery.Enabled = true;
        o.Delivery.Retry = new RetryOptions { Min = TimeSpan.FromHours(1), Max = TimeSpan.FromHours(2), Factor = 2, MaxAge = TimeSpan.FromDays(1) };
    });

    private static string Lines(int from, int count)
    {
        var text = new StringBuilder();
        for (var i = from; i < from + count; i++)
            text.Append("line ").Append(i).Append(": the quick brown fox jumps over the lazy dog, streaming on\r\n");
        return text.ToString();
    }

    private static async Task<SmtpTranscript> StartTransactionAsync(TestHost host, string recipient)
    {
        var smtp = await SmtpTranscript.ConnectAsync(host.Smtp());
        await smtp.ExpectAsync("220 ");
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        await smtp.SendAndExpectAsync("MAIL FROM:<sender@remote.test>", "250");
        await smtp.SendAndExpectAsync($"RCPT TO:<{recipient}>", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        return smtp;
    }

    [Fact]
    public async Task The_body_reaches_the_next_hop_while_it_arrives_and_its_answer_comes_back()
    {
        await using var nextHop = NextHop.Start();
        await using var host = await StartHostAsync(nextHop.Port);
        const string header = "Subject: streamed\r\nFrom: <sender@remote.test>\r\n\r\n";
        var first = Lines(0, 4000); // ~300 KB
        var rest = Lines(4000, 4000);
        await using var smtp = await StartTransactionAsync(host, "u@stream.test");

        await smtp.SendAsync(header + first);
        await nextHop.WaitForContentAsync(200_000, Within); // the client has not ended its data: it is on its way already

        await smtp.SendAsync(rest + ".\r\n");
        var reply = await smtp.ExpectAsync("250 ");
        Assert.Contains("streamed", reply, StringComparison.Ordinal); // the next hop's own answer

        var delivered = await nextHop.Message.Task.WaitAsync(Within);
        Assert.NotNull(delivered);
        Assert.StartsWith("Received: from client.test", delivered, StringComparison.Ordinal);
        Assert.EndsWith(header + first + rest, delivered, StringComparison.Ordinal);

        // The stored record is the same message, byte for byte, and says delivered.
        var stored = await RecordAsync(host);
        Assert.Equal(DeliveryState.Delivered, Assert.Single(stored.Deliveries).State);
        using var content = new MemoryStream();
        Assert.True(await host.Store.CopyContentAsync(stored.Envelope.Id, content, default));
        Assert.Equal(delivered, Encoding.ASCII.GetString(content.ToArray()));
    }

    [Fact]
    public async Task A_body_refused_at_its_end_never_reaches_the_next_hops_end_of_data()
    {
        await using var nextHop = NextHop.Start();
        await using var host = await StartHostAsync(nextHop.Port);
        await using var smtp = await StartTransactionAsync(host, "u@stream.test");

        await smtp.SendAsync("Subject: smuggled\r\n\r\n" + Lines(0, 3000));
        await nextHop.WaitForContentAsync(100_000, Within);
        // A bare LF before a dot: an ending some servers take for the end of data (SMTP smuggling). Refused by default.
        await smtp.SendAsync("the end?\n.\nMAIL FROM:<evil@remote.test>\r\n" + Lines(3000, 100) + ".\r\n");
        var reply = await smtp.ExpectAsync("5");
        Assert.StartsWith("550 5.6", reply, StringComparison.Ordinal);

        Assert.Null(await nextHop.Message.Task.WaitAsync(Within)); // the connection closed before any end of data
        Assert.Empty(await host.Store.ListAsync(null, 100, default)); // nothing kept either
    }

    [Fact]
    public async Task A_next_hop_that_dies_while_the_body_streams_is_the_ingress_answer_and_the_client_is_read_to_its_end()
    {
        await using var nextHop = NextHop.Start(dieAfter: 100_000);
        await using var host = await StartHostAsync(nextHop.Port);
        await using var smtp = await StartTransactionAsync(host, "u@stream.test");

        await smtp.SendAsync("Subject: cut short\r\n\r\n" + Lines(0, 6000) + ".\r\n"); // ~450 KB, most of it after the next hop is gone
        var reply = await smtp.ExpectAsync("451 "); // ingress: the next hop's failure, verbatim (the client keeps the message)
        Assert.Contains("4.4.1", reply, StringComparison.Ordinal);
        await smtp.SendAndExpectAsync("NOOP", "250"); // the session read the rest of the content and is in step

        Assert.Null(await nextHop.Message.Task.WaitAsync(Within)); // it got no end of data
        Assert.Empty(await host.Store.ListAsync(null, 10, default)); // nothing kept: the answer was not Hermod's 250
    }

    private static async Task<StoredMessage> RecordAsync(TestHost host)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            if ((await host.Store.ListAsync(null, 10, default)).SingleOrDefault() is { } stored)
                return stored;
            Assert.True(clock.Elapsed < Within, "no record of the delivery");
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// A next hop for one session that tells how much content it has, as it comes: EHLO with PIPELINING, 250 to MAIL and
    /// RCPT, 354 to DATA, then it reads the content to the final dot (250 "streamed", <see cref="Message"/> set to the
    /// unstuffed content) or to the end of the connection (<see cref="Message"/> null).
    /// </summary>
    private sealed class NextHop : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Task _session;
        private long _contentBytes;

        private readonly long _dieAfter;

        private NextHop(long dieAfter)
        {
            _dieAfter = dieAfter;
            _listener.Start();
            _session = Task.Run(ServeAsync);
        }

        /// <param name="dieAfter">Closes the connection once it has this much content (default: never).</param>
        public static NextHop Start(long dieAfter = long.MaxValue) => new(dieAfter);

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public TaskCompletionSource<string?> Message { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task WaitForContentAsync(long bytes, TimeSpan within)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (Interlocked.Read(ref _contentBytes) < bytes)
            {
                Assert.True(clock.Elapsed < within, $"the next hop had {Interlocked.Read(ref _contentBytes)} bytes of content, not {bytes}");
                await Task.Delay(10);
            }
        }

        private async Task ServeAsync()
        {
            try
            {
                using var client = await _listener.AcceptTcpClientAsync();
                var stream = client.GetStream();
                var reader = new StreamReader(stream, Encoding.Latin1);
                async Task ReplyAsync(string line) => await stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"));
                await ReplyAsync("220 next.test ESMTP");
                while (await reader.ReadLineAsync() is { } line)
                {
                    if (line.StartsWith("EHLO", StringComparison.Ordinal))
                        await ReplyAsync("250-next.test\r\n250 PIPELINING");
                    else if (line.StartsWith("DATA", StringComparison.Ordinal))
                    {
                        await ReplyAsync("354 go ahead");
                        var content = new StringBuilder();
                        while (await reader.ReadLineAsync() is { } data)
                        {
                            if (data == ".")
                            {
                                Message.TrySetResult(content.ToString());
                                await ReplyAsync("250 2.0.0 streamed");
                                break;
                            }
                            content.Append(data.StartsWith('.') ? data[1..] : data).Append("\r\n");
                            if (Interlocked.Add(ref _contentBytes, data.Length + 2) >= _dieAfter)
                            {
                                client.Client.Close(); // gone in the middle of the content
                                return;
                            }
                        }
                    }
                    else
                        await ReplyAsync(line.StartsWith("QUIT", StringComparison.Ordinal) ? "221 bye" : "250 OK");
                }
            }
            catch (IOException)
            {
                // the client went away
            }
            finally
            {
                Message.TrySetResult(null);
            }
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            await _session.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }
}
