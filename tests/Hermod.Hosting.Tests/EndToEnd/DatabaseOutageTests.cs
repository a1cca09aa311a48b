using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
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
using Xunit.Abstractions;
using static Hermod.Hosting.TestKit.HostKit;

namespace Hermod.Hosting.Tests.EndToEnd;

/// <summary>
/// PostgreSQL stopped while clients send and started again: no 250 (or 2xx) without a commit, everything acknowledged
/// kept, nothing refused kept, and accepting resumes without restarting Hermod. The class has a PostgreSQL of its own:
/// it stops it.
/// </summary>
public sealed class DatabaseOutageTests(PostgresServer postgres, ITestOutputHelper output) : IClassFixture<PostgresServer>
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

    private const int Sessions = 20;
    private const int MaxPerSession = 500;
    /// <summary>Longer than the queue runner's idle check (5 s): it reads the queue at least once while the database is down.</summary>
    private static readonly TimeSpan Down = TimeSpan.FromSeconds(6);
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(100);

    [Fact]
    public async Task Under_load_a_database_restart_keeps_every_250_stores_nothing_refused_and_every_session_gets_250s_again()
    {
        var database = await postgres.CreateDatabaseAsync(); // its connection string
        await using var node = await HermodProcess.StartAsync(c =>
        {
            c.Listeners = [new("mx", "ingress", "none", "none")];
            // The queue runner works through the outage too (claims, records): every attempt goes to a port where
            // nobody listens and is deferred, next tried long after the test.
            c.Delivery = "delivery:\n  enabled: true\n  tls: none\n  retry: { min: 10m, max: 20m }\n";
            c.Extra = Storage(database) + "routes:\n  example.test: { host: '127.0.0.1:9', cut_through: false }\n";
        });
        var endPoint = node.Smtp("mx");
        var acked = new ConcurrentDictionary<string, string>(); // recipient (one per message) → queue id of its 250
        var refused = new ConcurrentBag<string>(); // 4xx at MAIL, RCPT, DATA or the end of data: the client keeps it
        var unanswered = new ConcurrentBag<string>(); // end of data sent, the session dropped before the reply
        var unexpected = new ConcurrentQueue<string>();
        var refusals = new ConcurrentDictionary<string, byte>(); // the replies that refused
        var clock = Stopwatch.StartNew();
        var restartedAt = long.MaxValue; // clock ticks when PostgreSQL answered again
        var recoveredAt = new long[Sessions]; // clock ticks of each session's first 250 after that
        var drops = 0;
        using var stop = new CancellationTokenSource();

        async Task SessionAsync(int session)
        {
            var n = 0;
            while (n < MaxPerSession && !stop.IsCancellationRequested)
            {
                string? awaiting = null;
                try
                {
                    await using var smtp = await SmtpTranscript.ConnectAsync(endPoint);
                    await smtp.ExpectAsync("220 ");
                    await smtp.SendAndExpectAsync("EHLO load.test", "250");
                    while (n < MaxPerSession && !stop.IsCancellationRequested)
                    {
                        var recipient = $"s{session}m{n++}@example.test";
                        var reply = await TransactionAsync(smtp, recipient, () => awaiting = recipient);
                        awaiting = null;
                        if (reply.StartsWith("250 ", StringComparison.Ordinal))
                        {
                            acked[recipient] = QueueId(reply);
                            if (clock.ElapsedTicks > Volatile.Read(ref restartedAt))
                                Interlocked.CompareExchange(ref recoveredAt[session], clock.ElapsedTicks, 0);
                        }
                        else if (reply.StartsWith('4'))
                        {
                            refused.Add(recipient);
                            refusals.TryAdd(reply, 0);
                            await smtp.SendAndExpectAsync("RSET", "250");
                            await Task.Delay(RetryPause);
                        }
                        else
                        {
                            unexpected.Enqueue($"{recipient}: {reply}");
                            return;
                        }
                    }
                    await smtp.SendAndExpectAsync("QUIT", "221");
                }
                catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
                {
                    // the session dropped: a message whose end of data went out is neither acknowledged nor refused
                    if (awaiting is not null)
                        unanswered.Add(awaiting);
                    Interlocked.Increment(ref drops);
                    await Task.Delay(RetryPause);
                }
                catch (Exception e)
                {
                    unexpected.Enqueue($"session {session}: {e}");
                    return;
                }
            }
        }

        var sessions = Task.WhenAll(Enumerable.Range(0, Sessions).Select(s => Task.Run(() => SessionAsync(s))));
        await WaitForAsync(() => acked.Count >= 25 * Sessions || sessions.IsCompleted, TimeSpan.FromSeconds(60), "the first acknowledgements");
        var ackedBeforeStop = acked.Count;
        await postgres.StopAsync();
        var stoppedAt = clock.Elapsed;
        await Task.Delay(Down);
        await postgres.StartAgainAsync();
        Volatile.Write(ref restartedAt, clock.ElapsedTicks);
        var restarted = clock.Elapsed;
        await WaitForAsync(() => recoveredAt.All(t => t != 0) || sessions.IsCompleted, Resume, "a 250 in every session after the restart");
        await stop.CancelAsync();
        await sessions.WaitAsync(TimeSpan.FromSeconds(60));

        var slowest = TimeSpan.FromSeconds((double)(recoveredAt.Max() - restartedAt) / Stopwatch.Frequency);
        output.WriteLine($"{Sessions} sessions: {ackedBeforeStop} acknowledged before PostgreSQL stopped at {stoppedAt.TotalSeconds:F1} s, started again at " +
            $"{restarted.TotalSeconds:F1} s; in all {acked.Count} acknowledged, {refused.Count} refused, {unanswered.Count} unanswered, {drops} sessions dropped; " +
            $"the last session's first 250 came {slowest.TotalSeconds:F2} s after the restart; refused with: {string.Join(" | ", refusals.Keys.Take(10))}; " +
            $"commits without an answer: {Occurrences(node.Log, "[2106]")} found committed, {Occurrences(node.Log, "[2107]")} unknown");
        Assert.True(unexpected.IsEmpty, string.Join("\n", unexpected) + "\nlog:\n" + node.Log);
        Assert.All(recoveredAt, t => Assert.True(t != 0, $"a session got no 250 within {Resume} of the restart; log:\n{node.Log}"));
        Assert.NotEmpty(refused); // the outage was met
        Assert.False(node.HasExited, node.Log);

        var list = await node.RunCliAsync("queue", "list", "--json", "--limit", "1000000");
        Assert.True(list.ExitCode == 0, list.Describe());
        var stored = new Dictionary<string, string>(); // recipient → queue id
        foreach (var m in JsonDocument.Parse(list.StdoutBytes).RootElement.EnumerateArray())
            stored.Add(Assert.Single(m.GetProperty("recipients").EnumerateArray()).GetProperty("address").GetString()!, m.GetProperty("id").GetString()!);
        var lost = acked.Where(a => !stored.TryGetValue(a.Key, out var id) || id != a.Value).Select(a => a.Key).ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} acknowledged messages are not stored: {string.Join(", ", lost.Take(20))}");
        var keptRefused = refused.Where(stored.ContainsKey).ToList();
        Assert.True(keptRefused.Count == 0, $"{keptRefused.Count} refused messages are stored: {string.Join(", ", keptRefused.Take(20))}");
        Assert.All(stored.Keys, r => Assert.True(acked.ContainsKey(r) || unanswered.Contains(r), $"{r} is stored but was never sent whole"));
    }

    private static int Occurrences(string text, string what) => text.Split(what).Length - 1;

    /// <summary>MAIL, RCPT, DATA and a message; the first reply that is not the expected one, or the reply to the end of data.</summary>
    private static async Task<string> TransactionAsync(SmtpTranscript smtp, string recipient, Action endOfDataSent)
    {
        foreach (var (command, expected) in new[] { ("MAIL FROM:<load@remote.test>", "250 "), ($"RCPT TO:<{recipient}>", "250 "), ("DATA", "354 ") })
        {
            await smtp.SendLineAsync(command);
            var reply = await smtp.ReadReplyAsync();
            if (!reply.StartsWith(expected, StringComparison.Ordinal))
                return reply;
        }
        endOfDataSent();
        await smtp.SendAsync($"Subject: {recipient}\r\nMessage-ID: <{recipient}>\r\n\r\nbody\r\n.\r\n");
        return await smtp.ReadReplyAsync();
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
