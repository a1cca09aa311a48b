using System.Collections.Concurrent;
using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Hermod.Hosting.TestKit;
using Hermod.TestKit;
using Xunit.Abstractions;
using static Hermod.Hosting.TestKit.HostKit;

namespace Hermod.Hosting.Tests.EndToEnd;

/// <summary>
/// Three <c>hermod serve</c> processes on one PostgreSQL database, storing and forwarding to a slow next hop under
/// SMTP load on all three; one is killed with kill -9 while it holds deliveries in flight and is not started again.
/// The survivors must deliver every acknowledged message, taking over the dead node's deliveries once it has been
/// silent for <c>node_timeout</c> (before their leases run out), and deliver twice only what the dead node held.
/// </summary>
public sealed partial class ClusterFailoverTests(PostgresServer postgres, ITestOutputHelper output) : IClassFixture<PostgresServer>
{
    private const string NextHop = "127.0.0.91"; // fake MX "slow": each end of data is answered after half a second
    private const int SessionsPerNode = 4;
    private const int MessagesPerSession = 25; // 3 × 4 × 25 = 300 messages
    private const int KillAfterAcks = 100;

    /// <summary>
    /// delivery.max_per_destination. A node's runner holds a slot of its destination from the start of an attempt until
    /// the attempt's record is committed, so at most this many of its deliveries to the one destination here can be past
    /// their end of data and not yet recorded — the only ones that can arrive twice when it dies.
    /// </summary>
    private const int MaxPerDestination = 10;
    private static readonly string[] Names = ["node-a", "node-b", "node-c"];
    private const int Victim = 2;

    /// <summary>A dead node is seen after this long; every node beats six times per timeout.</summary>
    private static readonly TimeSpan NodeTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Short, but well above <see cref="NodeTimeout"/> and the time the survivors take to reach the released work behind
    /// their backlog (8 to 19 s after the kill, measured on a busy machine), so that the dead node's deliveries can only
    /// be taken over in time through its missed heartbeats (asserted below); and well above the ~5 s a node needs for the
    /// 100 deliveries it claims at once (ten at a time, half a second each), so that no lease of a live node runs out.
    /// </summary>
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan DeliveryDeadline = TimeSpan.FromSeconds(60);

    private static string MessageIdOf(int number) => $"<{number}.failover@client.test>";

    private static string Content(int number) =>
        $"Message-ID: {MessageIdOf(number)}\r\nFrom: <load@remote.test>\r\nTo: <user{number % 10}@example.test>\r\nSubject: failover {number}\r\n\r\n"
        + $"message {number} of the failover load\r\n";

    [Fact]
    public async Task A_node_killed_under_load_loses_no_acknowledged_message_and_its_deliveries_in_flight_are_taken_over()
    {
        var connectionString = await postgres.CreateDatabaseAsync();
        var database = (string)new DbConnectionStringBuilder { ConnectionString = connectionString }["Database"];
        Task<string> SqlAsync(string sql) => postgres.PsqlAsync(database, sql);
        var clock = Stopwatch.StartNew();

        await using var mx = await FakeMx.StartAsync(new Dictionary<string, string> { [NextHop] = "slow" });
        var nodes = new HermodProcess?[Names.Length];
        try
        {
            // One at a time: the first creates the schema.
            for (var n = 0; n < Names.Length; n++)
                nodes[n] = await HermodProcess.StartAsync(c => Configure(c, Names[n], connectionString, mx.Port));
            var started = clock.Elapsed;
            var (a, b, victim) = (nodes[0]!, nodes[1]!, nodes[Victim]!);

            // Read through node B what node A accepted over HTTP; it is part of the mail that must arrive.
            var key = await CreateApiKeyAsync(a);
            var acknowledged = new ConcurrentDictionary<string, string>(); // Message-ID → queue id
            var apiId = await SendOverHttpAsync(a, key, acknowledged);
            var onB = await GetMessageAsync(b, key, apiId);
            Assert.Equal(apiId, onB.GetProperty("id").GetString());
            Assert.Equal("api@example.test", onB.GetProperty("recipients")[0].GetProperty("address").GetString());

            // The load: every node gets its sessions; those of the killed node go on at a survivor.
            var endPoints = nodes.Select(n => n!.Smtp("mx")).ToArray();
            var unanswered = new ConcurrentQueue<string>(); // Message-IDs: end of data sent, the connection gone before the reply
            var unexpected = new ConcurrentQueue<string>();
            var killed = 0;
            async Task SessionAsync(int node, int session)
            {
                var first = ((node * SessionsPerNode) + session) * MessagesPerSession;
                var pending = new Queue<int>(Enumerable.Range(first, MessagesPerSession));
                while (pending.Count > 0)
                {
                    var at = node;
                    var dataSent = false;
                    try
                    {
                        await using var smtp = await SmtpTranscript.ConnectAsync(endPoints[node]);
                        await smtp.ExpectAsync("220 ");
                        await smtp.SendAndExpectAsync("EHLO load.test", "250");
                        while (pending.TryPeek(out var number))
                        {
                            await smtp.SendAsync($"MAIL FROM:<load@remote.test>\r\nRCPT TO:<user{number % 10}@example.test>\r\nDATA\r\n");
                            await smtp.ExpectAsync("250 ");
                            await smtp.ExpectAsync("250 ");
                            await smtp.ExpectAsync("354 ");
                            dataSent = true;
                            await smtp.SendAsync(Content(number) + ".\r\n");
                            var reply = await smtp.ReadReplyAsync();
                            pending.Dequeue();
                            dataSent = false;
                            if (reply.StartsWith("250 ", StringComparison.Ordinal))
                                acknowledged[MessageIdOf(number)] = QueueId(reply);
                            else
                                unexpected.Enqueue($"message {number} on {Names[at]}: {reply}");
                        }
                        await smtp.SendAndExpectAsync("QUIT", "221 ");
                    }
                    catch (Exception) when (at == Victim && Volatile.Read(ref killed) == 1)
                    {
                        if (dataSent && pending.TryDequeue(out var lost)) // committed or not, the client cannot tell: it is not sent again
                            unanswered.Enqueue(MessageIdOf(lost));
                        node = session % 2; // the next MX
                    }
                    catch (Exception e)
                    {
                        unexpected.Enqueue($"{Names[at]} session {session}: {e.GetType().Name}: {e.Message}");
                        return;
                    }
                }
            }

            var load = Task.WhenAll(Enumerable.Range(0, Names.Length * SessionsPerNode).Select(s => Task.Run(() => SessionAsync(s / SessionsPerNode, s % SessionsPerNode))));
            var waitForLoad = Stopwatch.StartNew();
            while (acknowledged.Count < KillAfterAcks && !load.IsCompleted && waitForLoad.Elapsed < TimeSpan.FromSeconds(30))
                await Task.Delay(10);
            // Kill when the victim holds as many deliveries in flight as it delivers at once: claimed, most at the next hop.
            var victimInFlight = $"SELECT count(*) FROM deliveries WHERE state = 'inflight' AND lease_owner = '{Names[Victim]}'";
            while (int.Parse(await SqlAsync(victimInFlight), CultureInfo.InvariantCulture) < MaxPerDestination && waitForLoad.Elapsed < TimeSpan.FromSeconds(30))
                await Task.Delay(10);
            var loadRunning = !load.IsCompleted;
            var ackedAtKill = acknowledged.Count;
            Volatile.Write(ref killed, 1);
            victim.KillHard();
            var killedAt = clock.Elapsed;
            var killedAtMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

            // What the dead node held, read before a survivor can see it dead: its leases stay as they were.
            var held = (await SqlAsync($"SELECT id, message_id, due_at FROM deliveries WHERE state = 'inflight' AND lease_owner = '{Names[Victim]}' ORDER BY id"))
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split('|'))
                .Select(f => (Delivery: long.Parse(f[0], CultureInfo.InvariantCulture), Message: f[1], LeaseEnd: long.Parse(f[2], CultureInfo.InvariantCulture)))
                .ToList();
            var readAfterKill = clock.Elapsed - killedAt;
            Assert.True(readAfterKill < NodeTimeout, $"the dead node's deliveries were read {readAfterKill.TotalSeconds:F1} s after the kill, too late to be sure they were still its own");
            Assert.True(held.Count > 0, "the killed node held no delivery in flight");

            await load.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(unexpected.IsEmpty, string.Join('\n', unexpected));

            // Every acknowledged message arrives at the next hop, and nothing stays queued or in flight.
            var deadline = Stopwatch.StartNew();
            IReadOnlyList<ReceivedMessage> received;
            HashSet<string> arrived;
            List<string> missing;
            string notDelivered;
            while (true)
            {
                received = mx.Received(NextHop);
                arrived = received.Select(m => HeaderValue(m.Text, "Message-ID")).ToHashSet();
                missing = [.. acknowledged.Keys.Where(id => !arrived.Contains(id))];
                notDelivered = await SqlAsync("SELECT count(*) FROM deliveries WHERE state <> 'delivered'");
                if ((missing.Count == 0 && notDelivered == "0") || deadline.Elapsed > DeliveryDeadline)
                    break;
                await Task.Delay(200);
            }
            var drainedAt = clock.Elapsed;
            Assert.True(missing.Count == 0, $"{missing.Count} of {acknowledged.Count} acknowledged messages never arrived within {DeliveryDeadline.TotalSeconds} s "
                + $"after the kill, e.g. {string.Join(", ", missing.Take(10))}; survivors' logs:\n{a.Log}\n{b.Log}");
            Assert.True(notDelivered == "0", $"{notDelivered} deliveries not delivered {DeliveryDeadline.TotalSeconds} s after the kill");

            // The dead node's deliveries were taken over because it stopped beating, not because their leases ran out.
            var delivery = string.Join(',', held.Select(h => h.Delivery));
            var lastAttempts = (await SqlAsync($"SELECT delivery_id, max(started) FROM attempts WHERE delivery_id IN ({delivery}) GROUP BY delivery_id"))
                .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('|'))
                .ToDictionary(f => long.Parse(f[0], CultureInfo.InvariantCulture), f => long.Parse(f[1], CultureInfo.InvariantCulture));
            foreach (var h in held)
                Assert.True(lastAttempts[h.Delivery] < h.LeaseEnd, $"delivery {h.Delivery} of {h.Message} was attempted again "
                    + $"{lastAttempts[h.Delivery] - h.LeaseEnd} ms after its lease ended, not when its node was seen dead");

            // Duplicates: only where the dead node had its 250 from the next hop and died before recording it.
            var copies = received.GroupBy(m => QueueIdOf(m.Text)).ToDictionary(g => g.Key, g => g.Count());
            var twice = copies.Where(c => c.Value > 1).ToList();
            var duplicates = twice.Sum(c => c.Value - 1);
            var heldMessages = held.Select(h => h.Message).ToHashSet();
            output.WriteLine($"3 nodes up in {started.TotalSeconds:F1} s; {Names[Victim]} killed at {killedAt.TotalSeconds:F1} s "
                + $"with {ackedAtKill} messages acknowledged, SMTP load {(loadRunning ? "still running" : "finished")}, "
                + $"{held.Count} deliveries in flight on it (the first of their leases ending {(held.Min(h => h.LeaseEnd) - killedAtMs) / 1000.0:F1} s after the kill); "
                + $"acknowledged {acknowledged.Count}, unanswered at the kill {unanswered.Count} (delivered all the same: {unanswered.Count(arrived.Contains)}); "
                + $"next hop received {received.Count} ({copies.Count} distinct), all delivered {(drainedAt - killedAt).TotalSeconds:F1} s after the kill; "
                + $"duplicates {duplicates}: {string.Join(", ", twice.Select(t => $"{t.Key}×{t.Value}"))}");
            Assert.All(twice, t => Assert.True(heldMessages.Contains(t.Key), $"{t.Key} arrived {t.Value} times, but the dead node did not hold it"));
            foreach (var (id, _) in twice) // the next hop stores a message just before its 250 (n.eml for the n-th it accepted)
            {
                var first = received.Select((m, i) => (m, i)).First(x => QueueIdOf(x.m.Text) == id).i;
                var storedAt = new DateTimeOffset(File.GetLastWriteTimeUtc(Path.Combine(mx.Directory, NextHop, $"{first + 1}.eml"))).ToUnixTimeMilliseconds();
                Assert.True(storedAt <= killedAtMs, $"the first copy of {id} arrived {storedAt - killedAtMs} ms after the kill: not the dead node's");
            }
            Assert.True(duplicates <= Math.Min(held.Count, MaxPerDestination),
                $"{duplicates} duplicates: more than the dead node can have had past their end of data ({held.Count} in flight, {MaxPerDestination} at once)");
            Assert.All(acknowledged, m => Assert.True(copies.ContainsKey(m.Value), $"{m.Key} arrived without its queue id {m.Value}"));

            // The surviving node's view: every message delivered, none left queued or in flight.
            var list = await b.RunCliAsync("queue", "list", "--json");
            Assert.True(list.ExitCode == 0, list.Describe());
            var queue = JsonDocument.Parse(list.StdoutBytes).RootElement.EnumerateArray().ToList();
            Assert.Superset(acknowledged.Values.ToHashSet(), queue.Select(m => m.GetProperty("id").GetString()!).ToHashSet());
            foreach (var m in queue)
                foreach (var r in m.GetProperty("recipients").EnumerateArray())
                {
                    Assert.Equal("delivered", r.GetProperty("state").GetString());
                    Assert.False(r.TryGetProperty("node", out _), $"{m.GetProperty("id")} is still in flight");
                }
            Assert.Equal("delivered", (await GetMessageAsync(b, key, apiId)).GetProperty("recipients")[0].GetProperty("state").GetString());
            Assert.False(a.HasExited || b.HasExited, "a survivor died");
        }
        finally
        {
            foreach (var node in nodes)
                if (node is not null)
                    await node.DisposeAsync();
        }
    }

    private static void Configure(HermodProcessConfig c, string name, string connectionString, int mxPort)
    {
        c.Listeners = [new("mx", "ingress", "none", "none")];
        c.Delivery = "delivery:\n  enabled: true\n  tls: none\n  retry: { min: 1s, max: 2s }\n"
            + $"  max_per_destination: {MaxPerDestination}\n  lease: {(int)Lease.TotalSeconds}s\n";
        c.Extra = $"routes:\n  example.test: {{ host: '{NextHop}:{mxPort}', cut_through: false }}\n"
            + $"storage:\n  provider: postgres\n  postgres:\n    connection_string: '{connectionString}'\n    node_timeout: {(int)NodeTimeout.TotalSeconds}s\n"
            + $"cluster:\n  node_name: {name}\n";
    }

    private static async Task<string> CreateApiKeyAsync(HermodProcess node)
    {
        var created = await node.RunCliAsync("apikey", "create", "--tenant", "failover");
        Assert.True(created.ExitCode == 0, created.Describe());
        return created.Stdout.TrimEnd().Split('\n')[^1];
    }

    private static async Task<string> SendOverHttpAsync(HermodProcess node, string key, ConcurrentDictionary<string, string> acknowledged)
    {
        const string MessageId = "<api.failover@client.test>";
        using var http = new HttpClient { BaseAddress = node.Http };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages?from=api@remote.test&to=api@example.test")
        {
            Content = new StringContent($"Message-ID: {MessageId}\r\nSubject: over HTTP\r\n\r\naccepted by node A\r\n", Encoding.UTF8, "message/rfc822"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, body);
        var id = JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
        acknowledged[MessageId] = id;
        return id;
    }

    private static async Task<JsonElement> GetMessageAsync(HermodProcess node, string key, string id)
    {
        using var http = new HttpClient { BaseAddress = node.Http };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/messages/{id}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>The value of the first header field <paramref name="name"/> (one line), or "" without it.</summary>
    private static string HeaderValue(string message, string name)
    {
        foreach (var line in message.Split("\r\n"))
        {
            if (line.Length == 0)
                break;
            if (line.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase))
                return line[(name.Length + 1)..].Trim();
        }
        return "";
    }

    /// <summary>The queue id in the Received field Hermod added when it accepted the message.</summary>
    private static string QueueIdOf(string message)
    {
        var match = ReceivedId().Match(message);
        Assert.True(match.Success, "no Received field of Hermod's in:\n" + message);
        return match.Groups["id"].Value;
    }

    [GeneratedRegex(@"\(Hermod\) with \S+ id (?<id>[^\s;]+)")]
    private static partial Regex ReceivedId();
}
