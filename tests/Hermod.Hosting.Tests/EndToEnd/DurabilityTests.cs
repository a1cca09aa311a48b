using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Hermod.Hosting.TestKit;
using Hermod.Hosting.Tests.Interop;
using Hermod.TestKit;
using Xunit.Abstractions;

namespace Hermod.Hosting.Tests.EndToEnd;

/// <summary>
/// Invariant 1 (no acknowledged message is ever lost) against the real binary: kill -9 in the middle of a
/// load of concurrent SMTP sessions, then every id that got a 250 must be in the queue.
/// </summary>
public sealed class DurabilityTests(ITestOutputHelper output)
{
    private const int Clients = 20;
    private const int MessagesPerClient = 100;
    private const int KillAfterAcks = 400;
    private static readonly TimeSpan LoadDeadline = TimeSpan.FromSeconds(10);

    private sealed record Ack(string Id, int Client, int Message);

    private static string Sender(int client) => $"load{client}@remote.test";

    private static string Recipient(int client) => $"user{client}@example.test";

    /// <summary>The exact content of message <paramref name="message"/> of <paramref name="client"/> (no dot-stuffing needed).</summary>
    private static string Body(int client, int message, int lines)
    {
        var body = new StringBuilder();
        body.Append($"From: {Sender(client)}\r\nTo: {Recipient(client)}\r\nSubject: load {client}/{message}\r\n");
        body.Append($"X-Load: client {client} message {message}\r\n\r\n");
        for (var i = 0; i < lines; i++)
            body.Append($"line {i} of message {message} from client {client}: the quick brown fox jumps over the lazy dog\r\n");
        return body.ToString();
    }

    [Theory]
    [InlineData(12)] // ~1.3 KB: the body in the database row
    [InlineData(400)] // ~40 KB: the body in a segment file (docs/storage.md)
    public async Task Kill9_under_load_loses_no_acknowledged_message(int lines)
    {
        await using var hermod = await HermodProcess.StartAsync(c => c.Listeners = [new("mx", "ingress", "none", "none")]);
        var endPoint = hermod.Smtp("mx");

        var acked = new ConcurrentQueue<Ack>();
        var unexpected = new ConcurrentQueue<string>();
        var unanswered = 0; // end of data sent, no reply before the kill
        var awaiting = 0; // clients that sent the end of data and wait for the reply, right now
        var killed = 0;
        using var deadline = new CancellationTokenSource(LoadDeadline);

        async Task ClientAsync(int client)
        {
            var awaitingReply = false;
            try
            {
                await using var smtp = await SmtpTranscript.ConnectAsync(endPoint);
                await smtp.ExpectAsync("220 ");
                await smtp.SendAndExpectAsync("EHLO load.test", "250");
                for (var n = 0; n < MessagesPerClient && !deadline.IsCancellationRequested; n++)
                {
                    await smtp.SendAsync($"MAIL FROM:<{Sender(client)}>\r\nRCPT TO:<{Recipient(client)}>\r\nDATA\r\n");
                    await smtp.ExpectAsync("250 ");
                    await smtp.ExpectAsync("250 ");
                    await smtp.ExpectAsync("354 ");
                    await smtp.SendAsync(Body(client, n, lines) + ".\r\n");
                    awaitingReply = true;
                    Interlocked.Increment(ref awaiting);
                    var reply = await smtp.ReadReplyAsync();
                    Interlocked.Decrement(ref awaiting);
                    awaitingReply = false;
                    if (reply.StartsWith("250 ", StringComparison.Ordinal))
                        acked.Enqueue(new Ack(StoredContent.QueueIdFrom(reply), client, n));
                    else
                        unexpected.Enqueue($"client {client} message {n}: {reply}");
                }
            }
            catch (Exception e) when (Volatile.Read(ref killed) == 1)
            {
                if (awaitingReply)
                    Interlocked.Increment(ref unanswered);
                _ = e; // the server is gone: expected
            }
            catch (Exception e)
            {
                unexpected.Enqueue($"client {client}: {e.GetType().Name}: {e.Message}");
            }
        }

        var stopwatch = Stopwatch.StartNew();
        var clients = Enumerable.Range(0, Clients).Select(c => Task.Run(() => ClientAsync(c))).ToList();
        var allDone = Task.WhenAll(clients);
        while (acked.Count < KillAfterAcks && !allDone.IsCompleted && !deadline.IsCancellationRequested)
            await Task.Delay(5);
        // Replies come in group-commit batches, so right after the threshold every client is between messages. Kill
        // when several of them wait for the reply to their end of data instead: commits are under way then.
        var window = Stopwatch.StartNew();
        while (Volatile.Read(ref awaiting) < Clients / 4 && window.Elapsed < TimeSpan.FromSeconds(2) && !allDone.IsCompleted)
            Thread.SpinWait(100);
        var awaitingAtKill = Volatile.Read(ref awaiting);
        var running = clients.Count(c => !c.IsCompleted);
        Volatile.Write(ref killed, 1);
        hermod.KillHard();
        var killedAt = stopwatch.Elapsed;
        var ackedAtKill = acked.Count;
        await allDone.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(unexpected.IsEmpty, "before the kill: " + string.Join("\n", unexpected) + "\nlog:\n" + hermod.Log);
        Assert.True(running > 0, $"all clients had finished before the kill ({acked.Count} acks): nothing was in flight");
        Assert.False(acked.IsEmpty, "no message was acknowledged before the kill; log:\n" + hermod.Log);

        // The server is dead: read the queue with the CLI on the same config.
        var list = await hermod.RunCliAsync("queue", "list", "--json");
        Assert.True(list.ExitCode == 0, list.Describe());
        var stored = ParseQueue(list.StdoutBytes);
        var missing = acked.Where(a => !stored.ContainsKey(a.Id)).ToList();
        var ackedIds = acked.Select(a => a.Id).ToHashSet();
        var storedUnacked = stored.Keys.Count(id => !ackedIds.Contains(id));

        output.WriteLine($"killed after {killedAt.TotalMilliseconds:F0} ms with {running}/{Clients} clients running, {awaitingAtKill} of them waiting for the reply to their data; " +
            $"acknowledged {acked.Count} ({ackedAtKill} when the kill returned), end of data sent but unanswered {unanswered}; " +
            $"stored {stored.Count} (of which not acknowledged: {storedUnacked}); acknowledged but missing: {missing.Count}");

        Assert.True(missing.Count == 0, $"{missing.Count} of {acked.Count} acknowledged messages are not in the queue after kill -9: "
            + string.Join(", ", missing.Take(20).Select(m => m.Id)));
        foreach (var ack in acked)
        {
            var (sender, recipients) = stored[ack.Id];
            Assert.Equal(Sender(ack.Client), sender);
            Assert.Equal([Recipient(ack.Client)], recipients);
        }

        // The content is durable too: the last acknowledged messages (the ones most at risk) byte for byte.
        foreach (var ack in acked.Reverse().Take(5))
        {
            var show = await hermod.RunCliAsync("queue", "show", ack.Id, "--raw");
            Assert.True(show.ExitCode == 0, show.Describe());
            Assert.Equal(Body(ack.Client, ack.Message, lines), StoredContent.Split(show.StdoutBytes).BodyText);
        }

        // Hermod starts again on the same data and accepts mail.
        await hermod.RestartAsync();
        string newId;
        await using (var smtp = await SmtpTranscript.ConnectAsync(hermod.Smtp("mx")))
        {
            await smtp.ExpectAsync("220 ");
            await smtp.StartTransactionAsync("after@remote.test", "user@example.test");
            await smtp.SendAndExpectAsync("DATA", "354 ");
            newId = StoredContent.QueueIdFrom(await smtp.SendAndExpectAsync("Subject: after restart\r\n\r\nhello again\r\n.", "250 "));
            await smtp.SendAndExpectAsync("QUIT", "221 ");
        }
        list = await hermod.RunCliAsync("queue", "list", "--json");
        Assert.True(list.ExitCode == 0, list.Describe());
        var afterRestart = ParseQueue(list.StdoutBytes);
        Assert.Equal("after@remote.test", afterRestart[newId].Sender);
        Assert.All(acked, a => Assert.True(afterRestart.ContainsKey(a.Id), $"{a.Id} is gone after the restart"));
    }

    private static Dictionary<string, (string Sender, List<string> Recipients)> ParseQueue(byte[] json)
    {
        using var document = JsonDocument.Parse(json);
        var result = new Dictionary<string, (string, List<string>)>();
        foreach (var m in document.RootElement.EnumerateArray())
        {
            var recipients = m.GetProperty("recipients").EnumerateArray().Select(r => r.GetProperty("address").GetString()!).ToList();
            result[m.GetProperty("id").GetString()!] = (m.GetProperty("sender").GetString()!, recipients);
        }
        return result;
    }

    [Fact]
    public async Task Queue_list_reads_the_store_of_a_running_server()
    {
        await using var hermod = await HermodProcess.StartAsync();
        string id;
        await using (var smtp = await SmtpTranscript.ConnectAsync(hermod.Smtp("mx")))
        {
            await smtp.ExpectAsync("220 ");
            await smtp.StartTransactionAsync("cli@remote.test", "user@example.test");
            await smtp.SendAndExpectAsync("DATA", "354 ");
            id = StoredContent.QueueIdFrom(await smtp.SendAndExpectAsync("Subject: cli\r\n\r\nbody\r\n.", "250 "));
        }
        var list = await hermod.RunCliAsync("queue", "list", "--json");
        Assert.True(list.ExitCode == 0, list.Describe());
        var queue = ParseQueue(list.StdoutBytes);
        Assert.Equal("cli@remote.test", queue[id].Sender);
        Assert.Equal(["user@example.test"], queue[id].Recipients);
        Assert.Equal(IPAddress.Loopback, hermod.Smtp("submission").Address);
    }
}
