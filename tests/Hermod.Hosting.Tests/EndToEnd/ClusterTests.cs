using System.Text.Json;
using Hermod.Hosting.TestKit;
using Hermod.TestKit;
using static Hermod.Hosting.TestKit.HostKit;

namespace Hermod.Hosting.Tests.EndToEnd;

/// <summary>Two <c>hermod serve</c> processes on one PostgreSQL database: what either accepts, both see.</summary>
public sealed class ClusterTests(PostgresServer postgres) : IClassFixture<PostgresServer>
{
    [Fact]
    public async Task Mail_accepted_by_one_node_is_listed_and_shown_by_the_other()
    {
        var database = await postgres.CreateDatabaseAsync();
        string Storage(string node) =>
            $"storage:\n  provider: postgres\n  postgres:\n    connection_string: '{postgres.ConnectionString(database)}'\ncluster:\n  node_name: {node}\n";
        await using var a = await HermodProcess.StartAsync(c => c.Extra = Storage("node-a"));
        await using var b = await HermodProcess.StartAsync(c => c.Extra = Storage("node-b"));

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
}
