using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hermod.Core.Storage;
using Hermod.Delivery.Configuration;
using Hermod.TestKit;
using static Hermod.Delivery.Tests.DeliveryWorld;

namespace Hermod.Delivery.Tests;

/// <summary>
/// The fake internet with a Mini-MailGun client, fast retries, three attempts at most, and a command timeout long
/// enough that a stalled MX is visibly still in flight while other mail moves on.
/// </summary>
public sealed class MiniMailgunWorld() : DeliveryWorldFixture(o =>
{
    o.Http.MiniMailgun.Clients = [MiniMailgunDeliveryTests.Client];
    o.Delivery.Retry = new RetryOptions { Min = TimeSpan.FromMilliseconds(200), Max = TimeSpan.FromMilliseconds(400), Factor = 2, MaxAge = TimeSpan.FromHours(1) };
    o.Delivery.MaxAttempts = 3;
    o.Delivery.Timeouts.Command = TimeSpan.FromSeconds(30);
});

/// <summary>The Mini-MailGun scenarios end to end: HTTP in, DNS (dnsmasq), fake MX hosts (aiosmtpd), /status until it settles.</summary>
public sealed class MiniMailgunDeliveryTests(MiniMailgunWorld fixture) : IClassFixture<MiniMailgunWorld>, IDisposable
{
    public const string Client = "e2e-client-7d3f";
    private const string Sender = "app@sender.test";
    private readonly DeliveryWorld _world = fixture.World;
    private readonly HttpClient _http = new() { BaseAddress = fixture.World.Host.Http, Timeout = TimeSpan.FromSeconds(30) };

    public void Dispose() => _http.Dispose();

    private async Task<string> SendAsync(string subject, params string[] recipients)
    {
        var request = new JsonObject
        {
            ["client_id"] = Client,
            ["sender"] = Sender,
            ["recipients"] = new JsonArray([.. recipients.Select(r => (JsonNode?)JsonValue.Create(r))]),
            ["subject"] = subject,
            ["body"] = $"Body of {subject}.\nSecond line.",
        };
        using var response = await _http.PostAsync(new Uri("/send", UriKind.Relative), new StringContent(request.ToJsonString(), Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var json = JsonDocument.Parse(text);
        Assert.Equal("queued", json.RootElement.GetProperty("result").GetString());
        return json.RootElement.GetProperty("submission_id").GetString()!;
    }

    private async Task<string> StatusAsync(string submissionId)
    {
        using var response = await _http.PostAsync(new Uri("/status", UriKind.Relative),
            new StringContent($$"""{"client_id":"{{Client}}","submission_id":"{{submissionId}}"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private static string Status(string state) => $$"""{"result":"success","status":"{{state}}"}""";

    /// <summary>Polls /status until it answers <paramref name="state"/>; fails with the store's view after <paramref name="within"/>.</summary>
    private async Task WaitStatusAsync(string submissionId, string state, TimeSpan? within = null)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var status = await StatusAsync(submissionId);
            if (status == Status(state))
                return;
            if (clock.Elapsed > (within ?? TimeSpan.FromSeconds(30)))
                Assert.Fail($"{submissionId}: still {status} after {clock.Elapsed.TotalSeconds:0.#} s, expected {state}: " + await DescribeAsync(submissionId));
            await Task.Delay(100);
        }
    }

    private async Task<IReadOnlyList<StoredMessage>> MessagesOfAsync(string submissionId) =>
        [.. (await _world.Host.Store.ListAsync(null, 100_000, default)).Where(m => m.Envelope.SubmissionId == submissionId)];

    private async Task<string> DescribeAsync(string submissionId) =>
        string.Join("; ", (await MessagesOfAsync(submissionId)).SelectMany(m => m.Deliveries)
            .Select(d => $"{d.Recipient} {d.State} after {d.Attempts} attempt(s): {d.LastReply}"));

    private IReadOnlyList<ReceivedMessage> ReceivedBy(string host, string subject) =>
        [.. _world.Mx.Received(host).Where(m => m.Text.Contains($"\r\nSubject: {subject}\r\n", StringComparison.Ordinal))];

    private static void AssertBuiltMessage(ReceivedMessage received, string subject, params string[] allRecipients)
    {
        Assert.Equal(Sender, received.MailFrom);
        var text = received.Text;
        Assert.StartsWith("Received: from ", text); // Hermod's own trace header on top
        Assert.Contains($"\r\nFrom: {Sender}\r\nTo: {string.Join(", ", allRecipients)}\r\nSubject: {subject}\r\n", text);
        Assert.Contains("\r\nContent-Type: text/plain; charset=utf-8\r\n", text);
        Assert.EndsWith($"\r\n\r\nBody of {subject}.\r\nSecond line.\r\n", text);
    }

    [Fact]
    public async Task One_domain_is_one_transaction_and_ends_sent()
    {
        string[] rcpts = ["one-a@good.test", "one-b@good.test"];
        var id = await SendAsync("one domain", rcpts);
        await WaitStatusAsync(id, "sent");
        var received = Assert.Single(ReceivedBy(Accept, "one domain"));
        Assert.Equal(rcpts, received.Recipients);
        AssertBuiltMessage(received, "one domain", rcpts);
    }

    [Fact]
    public async Task Two_domains_are_two_envelopes_each_with_every_recipient_in_to()
    {
        string[] rcpts = ["two-a@good.test", "two-c@reuse.test", "two-b@good.test"];
        var id = await SendAsync("two domains", rcpts);
        await WaitStatusAsync(id, "sent");
        Assert.Equal(2, (await MessagesOfAsync(id)).Count);
        var good = Assert.Single(ReceivedBy(Accept, "two domains"));
        var reuse = Assert.Single(ReceivedBy(Reuse, "two domains"));
        Assert.Equal(["two-a@good.test", "two-b@good.test"], good.Recipients);
        Assert.Equal(["two-c@reuse.test"], reuse.Recipients);
        AssertBuiltMessage(good, "two domains", rcpts);
        AssertBuiltMessage(reuse, "two domains", rcpts);
    }

    [Fact]
    public async Task A_domain_without_mx_fails_its_envelope_and_the_submission_stays_queued()
    {
        var id = await SendAsync("partial", "partial@good.test", "partial@nomx.test");
        var clock = Stopwatch.StartNew();
        IReadOnlyList<StoredMessage> messages;
        while (!(messages = await MessagesOfAsync(id)).SelectMany(m => m.Deliveries).All(d => d.State is DeliveryState.Delivered or DeliveryState.Failed))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), await DescribeAsync(id));
            await Task.Delay(100);
        }
        var good = messages.Single(m => m.Deliveries[0].Route == "good.test").Deliveries[0];
        var nomx = messages.Single(m => m.Deliveries[0].Route == "nomx.test").Deliveries[0];
        Assert.Equal(DeliveryState.Delivered, good.State);
        Assert.Equal(DeliveryState.Failed, nomx.State);
        Assert.Equal(1, nomx.Attempts);
        Assert.Equal("5.1.2", nomx.LastReply!.Reply.Enhanced.ToString());
        Assert.Contains("has no MX and no address", nomx.LastReply.Reply.Text);
        Assert.Single(ReceivedBy(Accept, "partial"));
        // envelopes in different final states: "queued" (all envelopes in one state → that state, otherwise queued)
        Assert.Equal(Status("queued"), await StatusAsync(id));
        // and the sender hears about the failed recipient
        await WaitForBounceAsync("partial@nomx.test");
    }

    private async Task WaitForBounceAsync(string recipient)
    {
        var clock = Stopwatch.StartNew();
        while (!_world.Bounces(Sender).Any(b => b.Text.Contains(recipient, StringComparison.Ordinal)))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"no DSN to {Sender} about {recipient}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_one_time_451_is_retried_and_ends_sent()
    {
        var id = await SendAsync("flaky", "flaky@flaky.test");
        await WaitStatusAsync(id, "sent");
        var delivery = Assert.Single(await MessagesOfAsync(id)).Deliveries[0];
        Assert.Equal(2, delivery.Attempts);
        Assert.Equal(250, delivery.LastReply!.Reply.Code);
        AssertBuiltMessage(Assert.Single(ReceivedBy(Flaky, "flaky")), "flaky", "flaky@flaky.test");
    }

    [Fact]
    public async Task The_attempt_limit_ends_a_tempfailing_recipient_undeliverable()
    {
        var id = await SendAsync("limit", "tempfail-limit@good.test");
        await WaitStatusAsync(id, "undeliverable");
        var delivery = Assert.Single(await MessagesOfAsync(id)).Deliveries[0];
        Assert.Equal(DeliveryState.Failed, delivery.State);
        Assert.Equal(3, delivery.Attempts);
        Assert.Equal(451, delivery.LastReply!.Reply.Code);
        Assert.EndsWith("(gave up after 3 attempts)", delivery.LastReply.Reply.Text);
        await WaitForBounceAsync("tempfail-limit@good.test");
    }

    [Fact]
    public async Task A_553_at_mail_ends_undeliverable_at_once()
    {
        var id = await SendAsync("refused", "someone@refuse553.test");
        await WaitStatusAsync(id, "undeliverable");
        var delivery = Assert.Single(await MessagesOfAsync(id)).Deliveries[0];
        Assert.Equal(1, delivery.Attempts);
        Assert.Equal(553, delivery.LastReply!.Reply.Code);
        Assert.Equal("mx.refuse553.test", delivery.LastReply.RemoteHost);
        Assert.Empty(ReceivedBy(Refuse553, "refused"));
    }

    [Fact]
    public async Task A_stalled_domain_does_not_delay_another()
    {
        var stalled = await SendAsync("stalled", "slow@stall.test", "fast-a@good.test");
        var other = await SendAsync("not delayed", "fast-b@good.test");
        await WaitStatusAsync(other, "sent", TimeSpan.FromSeconds(15)); // well within the 30 s the stalled MX holds its attempt
        Assert.Single(ReceivedBy(Accept, "not delayed"));
        // the stalled submission's other domain went too, while its stalled envelope is still in its first attempt
        var clock = Stopwatch.StartNew();
        while (ReceivedBy(Accept, "stalled").Count == 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), await DescribeAsync(stalled));
            await Task.Delay(100);
        }
        var slow = (await MessagesOfAsync(stalled)).Single(m => m.Deliveries[0].Route == "stall.test").Deliveries[0];
        Assert.Equal(DeliveryState.Inflight, slow.State);
        Assert.Equal(0, slow.Attempts);
        Assert.Equal(Status("queued"), await StatusAsync(stalled));
    }

    [Fact]
    public async Task When_the_first_mx_refuses_connections_the_second_takes_the_mail()
    {
        var id = await SendAsync("fallback", "fallback@fallback.test");
        await WaitStatusAsync(id, "sent");
        var delivery = Assert.Single(await MessagesOfAsync(id)).Deliveries[0];
        Assert.Equal(1, delivery.Attempts);
        Assert.Equal("mx2.fallback.test", delivery.LastReply!.RemoteHost);
        AssertBuiltMessage(Assert.Single(ReceivedBy(Accept, "fallback")), "fallback", "fallback@fallback.test");
    }
}
