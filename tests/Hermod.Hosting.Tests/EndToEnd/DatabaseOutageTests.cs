using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Hermod.Hosting.TestKit;
using Hermod.TestKit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using static Hermod.Hosting.TestKit.HostKit;

namespace Hermod.Hosting.Tests.EndToEnd;

/// <summary>
/// PostgreSQL stopped while clients send and started again: no 250 (or 2xx) without a commit, everything acknowledged
/// kept, nothing refused kept, and accepting resumes without restarting Hermod. The class has a PostgreSQL of its own:
/// it stops it.
/// </summary>
public sealed class DatabaseOutageTests(PostgresServer postgres) : IClassFixture<PostgresServer>
{
    private static readonly TimeSpan Resume = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task While_the_database_is_down_nothing_is_acknowledged_and_after_it_returns_accepting_resumes()
    {
        var database = await postgres.CreateDatabaseAsync(); // its connection string
        await using var node = await HermodProcess.StartAsync(c => c.Extra = Storage(database));
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

    [Fact]
    public async Task While_the_database_is_down_the_http_apis_answer_503_with_retry_after_and_a_problem_document_and_2xx_after_it_returns()
    {
        // A webhook receiver that takes every event: the dispatcher reads the event feed through the outage too.
        var hooked = new ConcurrentQueue<string>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var receiver = builder.Build();
        receiver.MapPost("/hook", async (HttpRequest request) =>
        {
            hooked.Enqueue(JsonDocument.Parse(await new StreamReader(request.Body).ReadToEndAsync()).RootElement.GetProperty("message_id").GetString()!);
            return Results.Ok();
        });
        await receiver.StartAsync();
        var hook = receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/hook";
        var database = await postgres.CreateDatabaseAsync(); // its connection string
        await using var node = await HermodProcess.StartAsync(c => c.Extra = Storage(database) + $"mini_mailgun:\n  clients: [{MiniMailgunClient}]\n" +
            $"webhooks:\n  - {{ url: '{hook}', secret: 'a-long-webhook-secret' }}\n");
        var created = await node.RunCliAsync("apikey", "create", "--tenant", "acme");
        Assert.True(created.ExitCode == 0, created.Describe());
        var key = created.Stdout.TrimEnd().Split('\n')[^1];
        using var http = new HttpClient { BaseAddress = node.Http };
        var accepted = new List<string>();
        var n = 0;

        using (var sent = await SendV1Async(http, key, n++))
            accepted.Add(await AcceptedIdAsync(sent));
        using (var sent = await SendMiniMailgunAsync(http, n++))
            Assert.Equal(HttpStatusCode.OK, sent.StatusCode);

        await postgres.StopAsync();
        var down = Stopwatch.StartNew();
        while (down.Elapsed < WebhookIdleCheck) // the webhook dispatcher looks at the feed at least once meanwhile
        {
            using (var sent = await SendV1Async(http, key, n++))
                await AssertUnavailableAsync(sent);
            using (var sent = await SendMiniMailgunAsync(http, n++))
                Assert.Equal("error", (await AssertUnavailableAsync(sent)).GetProperty("result").GetString()); // what Mini-MailGun clients read
            using (var status = await http.PostAsync(new Uri("/status", UriKind.Relative), MiniMailgunJson(new { client_id = MiniMailgunClient, submission_id = "0123" })))
                await AssertUnavailableAsync(status);
            using (var health = await http.GetAsync(new Uri("/healthz", UriKind.Relative)))
                await AssertUnavailableAsync(health);
            await Task.Delay(500);
        }
        Assert.False(node.HasExited, node.Log);

        await postgres.StartAgainAsync();
        var deadline = DateTime.UtcNow + Resume;
        while (true)
        {
            using var sent = await SendV1Async(http, key, n++);
            if (sent.StatusCode == HttpStatusCode.Accepted)
            {
                accepted.Add(await AcceptedIdAsync(sent));
                break;
            }
            await AssertUnavailableAsync(sent);
            Assert.True(DateTime.UtcNow < deadline, $"no 202 within {Resume} of PostgreSQL's start; log:\n{node.Log}");
            await Task.Delay(500);
        }
        using (var sent = await SendMiniMailgunAsync(http, n++))
            Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
        using (var sent = await SendV1Async(http, key, n++))
            accepted.Add(await AcceptedIdAsync(sent));

        var list = await node.RunCliAsync("queue", "list", "--json", "--limit", "1000");
        Assert.True(list.ExitCode == 0, list.Describe());
        var stored = JsonDocument.Parse(list.Stdout).RootElement.EnumerateArray().ToList();
        var viaV1 = stored.Where(m => m.GetProperty("sender").GetString() == "api@acme.test").Select(m => m.GetProperty("id").GetString()!);
        Assert.Equal(accepted.Order(), viaV1.Order()); // every 202, and nothing answered 503
        Assert.Equal(2, stored.Count(m => m.GetProperty("sender").GetString() == "mm@acme.test")); // the two 200s of /send
        await WaitForAsync(() => hooked.Contains(accepted[^1]), Resume, "webhook event of the last message"); // the dispatcher goes on
        Assert.False(node.HasExited);
    }

    private static async Task WaitForAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < timeout, $"no {what} within {timeout}");
            await Task.Delay(20);
        }
    }

    /// <summary>More than the webhook dispatcher's idle check (5 s), after which it reads the event feed again.</summary>
    private static readonly TimeSpan WebhookIdleCheck = TimeSpan.FromSeconds(6);

    private const string MiniMailgunClient = "outage-client-0123456789";

    private static readonly string[] MiniMailgunRecipients = ["user@example.test"];

    private static string Storage(string connectionString) => $"storage:\n  provider: postgres\n  postgres:\n    connection_string: '{connectionString}'\n";

    private static async Task<HttpResponseMessage> SendV1Async(HttpClient http, string key, int n)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages?from=api@acme.test&to=user@example.test")
        {
            Content = new StringContent($"Subject: api {n}\r\n\r\nbody\r\n", Encoding.UTF8, "message/rfc822"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return await http.SendAsync(request);
    }

    private static Task<HttpResponseMessage> SendMiniMailgunAsync(HttpClient http, int n) =>
        http.PostAsync(new Uri("/send", UriKind.Relative), MiniMailgunJson(new
        {
            client_id = MiniMailgunClient,
            sender = "mm@acme.test",
            recipients = MiniMailgunRecipients,
            subject = $"mm {n}",
            body = "body",
        }));

    private static StringContent MiniMailgunJson(object request) => new(JsonSerializer.Serialize(request), Encoding.UTF8, "application/json");

    private static async Task<string> AcceptedIdAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>503, Retry-After in seconds, and an RFC 9457 problem document (returned) that says so.</summary>
    private static async Task<JsonElement> AssertUnavailableAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{response.RequestMessage!.RequestUri}: {(int)response.StatusCode}: {body}");
        Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero, $"Retry-After: {response.Headers.RetryAfter}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal(503, problem.GetProperty("status").GetInt32());
        Assert.Equal("Storage unavailable", problem.GetProperty("title").GetString());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("type").GetString()));
        return problem;
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
