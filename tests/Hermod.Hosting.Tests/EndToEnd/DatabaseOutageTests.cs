using System.Text.Json;
using Hermod.Hosting.TestKit;
using Hermod.TestKit;
using static Hermod.Hosting.TestKit.HostKit;

namespace Hermod.Hosting.Tests.EndToEnd;

/// <summary>
/// PostgreSQL stopped while a client sends and started again: no 250 without a commit, everything acknowledged kept,
/// and accepting resumes without restarting Hermod. The class has a PostgreSQL of its own: it stops it.
/// </summary>
public sealed class DatabaseOutageTests(PostgresServer postgres) : IClassFixture<PostgresServer>
{
    private static readonly TimeSpan Resume = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task While_the_database_is_down_nothing_is_acknowledged_and_after_it_returns_accepting_resumes()
    {
        var database = await postgres.CreateDatabaseAsync();
        await using var node = await HermodProcess.StartAsync(c => c.Extra =
            $"storage:\n  provider: postgres\n  postgres:\n    connection_string: '{postgres.ConnectionString(database)}'\n");
        var acknowledged = new List<string>();
        await using var smtp = await SmtpTranscript.ConnectAsync(node.Smtp("mx"));
        await smtp.ExpectAsync("220 ");
        await smtp.SendAndExpectAsync("EHLO client.test", "250");

        for (var n = 0; n < 10; n++)
            acknowledged.Add(Acknowledged(await SendAsync(smtp, n)));

        await postgres.StopAsync();
        for (var n = 10; n < 20; n++)
            Assert.StartsWith("451 4.3.0", await SendAsync(smtp, n)); // refused: the client keeps the message

        await postgres.StartAgainAsync();
        var deadline = DateTime.UtcNow + Resume;
        var n2 = 20;
        string reply;
        do
        {
            reply = await SendAsync(smtp, n2++);
            if (!reply.StartsWith("250 ", StringComparison.Ordinal))
            {
                Assert.StartsWith("451 ", reply);
                await Task.Delay(500);
            }
        }
        while (!reply.StartsWith("250 ", StringComparison.Ordinal) && DateTime.UtcNow < deadline);
        acknowledged.Add(Acknowledged(reply));
        for (var n = 0; n < 10; n++)
            acknowledged.Add(Acknowledged(await SendAsync(smtp, n2++)));

        var list = await node.RunCliAsync("queue", "list", "--json", "--limit", "1000");
        Assert.Equal(0, list.ExitCode);
        var stored = JsonDocument.Parse(list.Stdout).RootElement.EnumerateArray().Select(m => m.GetProperty("id").GetString()!).Order().ToList();
        Assert.Equal(acknowledged.Order(), stored); // every acknowledged message, and nothing refused
        Assert.False(node.HasExited);
    }

    private static string Acknowledged(string reply)
    {
        Assert.StartsWith("250 ", reply);
        return QueueId(reply);
    }

    private static async Task<string> SendAsync(SmtpTranscript smtp, int n)
    {
        await smtp.SendAndExpectAsync("MAIL FROM:<sender@remote.test>", "250");
        await smtp.SendAndExpectAsync($"RCPT TO:<user{n}@example.test>", "250");
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAsync($"Subject: message {n}\r\n\r\nbody\r\n.\r\n");
        return await smtp.ReadReplyAsync();
    }
}
