using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Hermod.Hosting.TestKit;
using Hermod.TestKit;
using Npgsql;
using static Hermod.Hosting.TestKit.HostKit;

namespace Hermod.Hosting.Tests.EndToEnd;

/// <summary>Two <c>hermod serve</c> processes on one PostgreSQL database: what either accepts, both see; what one node does at a time moves when it dies.</summary>
public sealed class ClusterTests(PostgresServer postgres) : IClassFixture<PostgresServer>
{
    private const string MxHost = "127.0.0.91";

    private static string Storage(string connectionString, string node, string nodeTimeout = "30s") =>
        $"storage:\n  provider: postgres\n  postgres:\n    connection_string: '{connectionString}'\n    node_timeout: {nodeTimeout}\ncluster:\n  node_name: {node}\n";

    [Fact]
    public async Task Mail_accepted_by_one_node_is_listed_and_shown_by_the_other()
    {
        var connectionString = await postgres.CreateDatabaseAsync();
        await using var a = await HermodProcess.StartAsync(c => c.Extra = Storage(connectionString, "node-a"));
        await using var b = await HermodProcess.StartAsync(c => c.Extra = Storage(connectionString, "node-b"));

        var onA = await SendAsync(a, "to-a@example.test");
        var onB = await SendAsync(b, "to-b@example.test");

        foreach (var node in new[] { a, b })
        {
            var list = await node.RunCliAsync("queue", "list", "--json");
            Assert.Equal(0, list.ExitCode);
            var ids = JsonDocument.Parse(list.Stdout).RootElement.EnumerateArray().Select(m => m.GetProperty("id").GetString()).Order();
            Assert.Equal(new[] { onA, onB }.Order(), ids);
        }
        var show = await b.RunCliAsync("queue", "show", onA);
        Assert.Equal(0, show.ExitCode);
        Assert.Contains($"id: {onA}\nsender: <sender@remote.test>\n", show.Stdout);
        Assert.Contains("recipient: <to-a@example.test> queued", show.Stdout);
        var raw = await b.RunCliAsync("queue", "show", onA, "--raw");
        Assert.EndsWith("Subject: to to-a@example.test\r\n\r\nbody\r\n", raw.Stdout);
    }

    [Fact]
    public async Task Webhooks_and_dsns_run_on_one_node_and_move_on_from_where_it_stopped_when_it_dies()
    {
        var connectionString = await postgres.CreateDatabaseAsync();
        var database = new NpgsqlConnectionStringBuilder(connectionString).Database!;
        await using var mx = await FakeMx.StartAsync(new Dictionary<string, string> { [MxHost] = "accept" }); // reject* recipients get 550
        await using var receiver = await HttpReceiver.StartAsync("200");
        Task<HermodProcess> StartAsync(string node) => HermodProcess.StartAsync(c =>
        {
            c.Hostname = $"{node}.example.test";
            c.Listeners = [new("submission", "submission", "none", "required")];
            c.ListenerExtra = "      allow_plaintext_auth: true\n";
            c.Delivery = "delivery:\n  enabled: true\n  tls: none\n";
            c.Extra = Storage(connectionString, node, "4s") + string.Create(CultureInfo.InvariantCulture,
                $"routes:\n  far.test: {{ host: '{MxHost}:{mx.Port}', cut_through: false }}\nwebhooks:\n  - {{ url: '{receiver.Url}', secret: 'a-long-webhook-secret' }}\n");
        });
        const string PostsWebhooks = "posts the webhooks now";
        const string MakesDsns = "makes the DSNs now";
        // Everything there is to do done (the DSN, to a local domain without a route, is held), and every event at the webhook.
        async Task<bool> SettledAsync() =>
            await CountAsync(database, "SELECT count(*) FROM deliveries WHERE state IN ('queued', 'inflight', 'deferred')") == 0
            && (await ReceivedEventsAsync(receiver)).Count >= (await StoredEventsAsync(database)).Count;

        await using var a = await StartAsync("node-a");
        await WaitForAsync(() => Task.FromResult(a.Log.Contains(PostsWebhooks, StringComparison.Ordinal) && a.Log.Contains(MakesDsns, StringComparison.Ordinal)),
            () => $"node-a, alone, took no role; log:\n{a.Log}");
        await using var b = await StartAsync("node-b");
        await SubmitAsync(a, "one@far.test");
        await SubmitAsync(b, "two@far.test");
        await WaitForAsync(SettledAsync, () => $"the webhook got {receiver.RequestCount} events; node-b's log:\n{b.Log}");
        await Task.Delay(1000); // a second node posting too would have by now
        Assert.Equal(4, (await StoredEventsAsync(database)).Count); // accepted and delivered, twice
        Assert.Equal(await StoredEventsAsync(database), await ReceivedEventsAsync(receiver)); // each once, in order
        Assert.DoesNotContain(PostsWebhooks, b.Log, StringComparison.Ordinal);

        a.KillHard();
        await SubmitAsync(b, "reject@far.test"); // fails for good at once: a DSN is owed while node-a still counts as alive
        await WaitForAsync(async () => await CountAsync(database, "SELECT count(*) FROM messages WHERE sender = ''") == 1 && await SettledAsync(),
            () => $"node-b did not take over; the webhook got {receiver.RequestCount} events; log:\n{b.Log}");
        Assert.Contains(PostsWebhooks, b.Log, StringComparison.Ordinal);
        Assert.Contains(MakesDsns, b.Log, StringComparison.Ordinal);
        Assert.Equal("node-b.example.test", await postgres.PsqlAsync(database, "SELECT helo FROM messages WHERE sender = ''"));
        Assert.Equal(await StoredEventsAsync(database), await ReceivedEventsAsync(receiver)); // none skipped, none again: on from the stored cursor
    }

    private async Task<long> CountAsync(string database, string sql) => long.Parse(await postgres.PsqlAsync(database, sql), CultureInfo.InvariantCulture);

    /// <summary>The ids of the events in the database, in order.</summary>
    private async Task<List<long>> StoredEventsAsync(string database) =>
        [.. (await postgres.PsqlAsync(database, "SELECT id FROM events ORDER BY id")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse)];

    /// <summary>The event ids the webhook got, in the order it got them (X-Hermod-Event).</summary>
    private static async Task<List<long>> ReceivedEventsAsync(HttpReceiver receiver)
    {
        var ids = new List<long>();
        for (var n = 1; n <= receiver.RequestCount; n++)
            ids.Add(long.Parse((await receiver.ReceivedAsync(n)).Header("X-Hermod-Event"), CultureInfo.InvariantCulture));
        return ids;
    }

    private static async Task WaitForAsync(Func<Task<bool>> done, Func<string> failure)
    {
        for (var since = Stopwatch.StartNew(); !await done(); await Task.Delay(200))
            Assert.True(since.Elapsed < TimeSpan.FromSeconds(60), failure());
    }

    private static async Task<string> SendAsync(HermodProcess node, string recipient)
    {
        await using var smtp = await SmtpTranscript.ConnectAsync(node.Smtp("mx"));
        await smtp.ExpectAsync("220 ");
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        await smtp.SendAndExpectAsync("MAIL FROM:<sender@remote.test>", "250");
        await smtp.SendAndExpectAsync($"RCPT TO:<{recipient}>", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        return QueueId(await smtp.SendAndExpectAsync($"Subject: to {recipient}\r\n\r\nbody\r\n.", "250"));
    }

    /// <summary>A message from alice (authenticated submission) to <paramref name="recipient"/>, stored and forwarded.</summary>
    private static async Task SubmitAsync(HermodProcess node, string recipient)
    {
        await using var smtp = await SmtpTranscript.ConnectAsync(node.Smtp("submission"));
        await smtp.ExpectAsync("220 ");
        await smtp.SendAndExpectAsync("EHLO client.test", "250");
        await smtp.SendAndExpectAsync("AUTH PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0alice\0{TestHost.Password}")), "235");
        await smtp.SendAndExpectAsync("MAIL FROM:<alice@example.test>", "250");
        await smtp.SendAndExpectAsync($"RCPT TO:<{recipient}>", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAndExpectAsync($"Subject: to {recipient}\r\n\r\nbody\r\n.", "250");
    }
}
