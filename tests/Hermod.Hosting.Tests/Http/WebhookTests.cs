using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Hermod.Hosting.Http;
using Hermod.Hosting.Http.Webhooks;
using Hermod.Hosting.TestKit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using static Hermod.Hosting.TestKit.HostKit;

namespace Hermod.Hosting.Tests.Http;

/// <summary>Webhooks against a real HTTP receiver on loopback that fails at first.</summary>
public sealed class WebhookTests
{
    private const string Secret = "a-long-webhook-secret";

    private sealed record Received(string Body, string Timestamp, string Signature);

    [Fact]
    public async Task Events_arrive_in_order_signed_and_retried_until_the_receiver_takes_them()
    {
        var received = new ConcurrentQueue<Received>();
        var failuresLeft = 2;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var receiver = builder.Build();
        receiver.MapPost("/hook", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            var body = await reader.ReadToEndAsync();
            if (Interlocked.Decrement(ref failuresLeft) >= 0)
                return Results.StatusCode(503);
            received.Enqueue(new Received(body, request.Headers["X-Hermod-Timestamp"].ToString(), request.Headers["X-Hermod-Signature"].ToString()));
            return Results.Ok();
        });
        await receiver.StartAsync();
        var url = receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/hook";

        await using var host = await TestHost.StartAsync(o => o.Http.Webhooks = [new WebhookOptions { Url = new Uri(url), Secret = Secret }]);
        var ids = new List<string>();
        await using (var smtp = await ConnectAndGreetAsync(host))
            for (var i = 0; i < 2; i++)
            {
                await smtp.StartTransactionAsync();
                await smtp.SendAndExpectAsync("DATA", "354");
                ids.Add(QueueId(await smtp.SendAndExpectAsync($"Subject: {i}\r\n\r\nx\r\n.", "250")));
            }

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (received.Count < 2 && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        var events = received.ToList();
        Assert.Equal(2, events.Count);
        Assert.True(failuresLeft < 0, "the receiver's failures were retried");
        var parsed = events.Select(e => JsonDocument.Parse(e.Body).RootElement).ToList();
        Assert.Equal(ids, parsed.Select(p => p.GetProperty("message_id").GetString()));
        Assert.All(parsed, p => Assert.Equal("accepted", p.GetProperty("type").GetString()));
        Assert.True(parsed[0].GetProperty("id").GetInt64() < parsed[1].GetProperty("id").GetInt64());
        foreach (var e in events)
        {
            Assert.Equal("sha256=" + WebhookDispatcher.Sign(Secret, e.Timestamp, Encoding.UTF8.GetBytes(e.Body)), e.Signature);
            Assert.NotEqual("sha256=" + WebhookDispatcher.Sign("another secret entirely", e.Timestamp, Encoding.UTF8.GetBytes(e.Body)), e.Signature);
        }
    }
}
