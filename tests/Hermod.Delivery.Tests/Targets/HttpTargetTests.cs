using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Hermod.Core.Configuration;
using Hermod.Core.Storage;
using Hermod.Delivery.Targets;
using Hermod.TestKit;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hermod.Delivery.Tests.Targets;

/// <summary>The http target posting to a real HTTP server (scripts/http_receiver.py) on loopback.</summary>
public sealed class HttpTargetTests
{
    private static HttpTarget Target(string yaml)
    {
        var config = ConfigSection.Parse("http", yaml);
        var target = new HttpTarget("webhook", config, TimeProvider.System, NullLogger<HttpTarget>.Instance);
        Assert.Empty(config.Errors);
        return target;
    }

    private static List<string> Errors(string yaml)
    {
        var config = ConfigSection.Parse("http", yaml);
        using var _ = new HttpTarget("webhook", config, TimeProvider.System, NullLogger<HttpTarget>.Instance);
        return [.. config.Errors];
    }

    private static readonly QueuedRecipient[] Recipients = [TargetKit.Recipient(11, "a@dest.test"), TargetKit.Recipient(12, "b@dest.test")];

    private static TargetMessage Message(byte[] content) => TargetKit.Message(content, "dest.test", "a@dest.test", "b@dest.test");

    [Fact]
    public async Task A_2xx_delivers_every_recipient_and_the_receiver_gets_the_exact_message_and_the_envelope()
    {
        await using var receiver = await HttpReceiver.StartAsync("200");
        using var target = Target($"type: http\nurl: {receiver.Url}\n");
        var content = TargetKit.Content("over http", 300_000);
        var message = Message(content);

        var run = await TargetKit.DeliverAsync(target, message, Recipients);

        Assert.Empty(run.Refused);
        Assert.Equal([11L, 12L], run.Body!.Replies.Keys.Order());
        foreach (var reply in run.Body.Replies.Values)
            Assert.Equal((250, "2.0.0", "200 from 127.0.0.1", "127.0.0.1"), (reply.Reply.Code, reply.Reply.Enhanced.ToString(), reply.Reply.Text, reply.RemoteHost));

        var received = await receiver.ReceivedAsync(1);
        Assert.Equal("POST", received.Request.GetProperty("method").GetString());
        Assert.Equal("/deliver?target=test", received.Request.GetProperty("path").GetString());
        Assert.Equal("multipart/form-data", received.Request.GetProperty("content_type").GetString());
        Assert.Equal("chunked", received.Request.GetProperty("transfer_encoding").GetString()); // streamed, length never computed
        var parts = received.Request.GetProperty("parts").EnumerateArray()
            .Select(p => (p.GetProperty("name").GetString(), p.GetProperty("content_type").GetString())).ToList();
        Assert.Equal([("envelope", "application/json"), ("message", "message/rfc822")], parts);
        Assert.Equal(content, received.Message);

        using var envelope = JsonDocument.Parse(received.Envelope);
        var e = envelope.RootElement;
        Assert.Equal(message.Message.Envelope.Id, e.GetProperty("id").GetString());
        Assert.Equal("sender@origin.test", e.GetProperty("sender").GetString());
        Assert.Equal(["a@dest.test", "b@dest.test"], e.GetProperty("recipients").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal("dest.test", e.GetProperty("domain").GetString());
        var source = e.GetProperty("source");
        Assert.Equal("inbound", source.GetProperty("listener").GetString());
        Assert.Equal("192.0.2.7", source.GetProperty("client_ip").GetString());
        Assert.Equal("client.origin.test", source.GetProperty("helo").GetString());
        Assert.Equal("alice", source.GetProperty("auth_user").GetString());
        Assert.Equal(TargetKit.Created, e.GetProperty("received").GetDateTimeOffset());
        Assert.Equal(1, receiver.RequestCount);
    }

    [Fact]
    public async Task A_5xx_is_temporary_and_the_next_attempt_is_delivered()
    {
        await using var receiver = await HttpReceiver.StartAsync("503,200");
        using var target = Target($"type: http\nurl: {receiver.Url}\n");
        var content = TargetKit.Content("retry", 5_000);

        var first = await TargetKit.DeliverAsync(target, Message(content), Recipients);
        var second = await TargetKit.DeliverAsync(target, Message(content), Recipients);

        foreach (var reply in first.Body!.Replies.Values)
        {
            Assert.Equal((451, "4.0.0"), (reply.Reply.Code, reply.Reply.Enhanced.ToString()));
            Assert.StartsWith("503 from 127.0.0.1: receiver says 503", reply.Reply.Text, StringComparison.Ordinal);
        }
        Assert.All(second.Body!.Replies.Values, r => Assert.Equal(250, r.Reply.Code));
        Assert.Equal(content, (await receiver.ReceivedAsync(1)).Message);
        Assert.Equal(content, (await receiver.ReceivedAsync(2)).Message);
    }

    [Fact]
    public async Task A_4xx_is_permanent_with_the_status_and_at_most_200_printable_characters_of_the_answer()
    {
        await using var receiver = await HttpReceiver.StartAsync("400");
        using var target = Target($"type: http\nurl: {receiver.Url}\n");

        var run = await TargetKit.DeliverAsync(target, Message(TargetKit.Content("refused", 1_000)), Recipients);

        Assert.Equal(2, run.Body!.Replies.Count);
        foreach (var reply in run.Body.Replies.Values)
        {
            Assert.Equal((550, "5.0.0", "127.0.0.1"), (reply.Reply.Code, reply.Reply.Enhanced.ToString(), reply.RemoteHost));
            const string Prefix = "400 from 127.0.0.1: ";
            Assert.StartsWith(Prefix + "receiver says 400 caf xxx", reply.Reply.Text, StringComparison.Ordinal); // CR LF BEL é became spaces
            Assert.Equal(200, reply.Reply.Text.Length - Prefix.Length);
            Assert.All(reply.Reply.Text, c => Assert.InRange(c, ' ', '~'));
        }
    }

    [Fact]
    public async Task A_429_is_temporary()
    {
        await using var receiver = await HttpReceiver.StartAsync("429");
        using var target = Target($"type: http\nurl: {receiver.Url}\n");

        var run = await TargetKit.DeliverAsync(target, Message(TargetKit.Content("busy", 1_000)), Recipients);

        Assert.All(run.Body!.Replies.Values, r => Assert.Equal((451, "4.0.0"), (r.Reply.Code, r.Reply.Enhanced.ToString())));
    }

    [Fact]
    public async Task A_receiver_that_never_answers_is_a_temporary_timeout_without_a_code()
    {
        await using var receiver = await HttpReceiver.StartAsync("stall");
        using var target = Target($"type: http\nurl: {receiver.Url}\ntimeout: 1s\n");
        var clock = Stopwatch.StartNew();

        var run = await TargetKit.DeliverAsync(target, Message(TargetKit.Content("stalled", 1_000)), Recipients);

        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(15));
        foreach (var reply in run.Body!.Replies.Values)
        {
            Assert.Equal((0, "4.4.2"), (reply.Reply.Code, reply.Reply.Enhanced.ToString()));
            Assert.Contains("127.0.0.1", reply.Reply.Text, StringComparison.Ordinal);
        }
        await receiver.ArrivedAsync(1); // it did get the request (its body may have been cut off by the timeout)
    }

    [Fact]
    public async Task A_refused_connection_is_a_temporary_failure_without_a_code()
    {
        int port;
        using (var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        } // bound, never listening, closed: nothing answers there
        using var target = Target($"type: http\nurl: http://127.0.0.1:{port}/\ntimeout: 10s\n");

        var run = await TargetKit.DeliverAsync(target, Message(TargetKit.Content("refused", 1_000)), Recipients);

        foreach (var reply in run.Body!.Replies.Values)
        {
            Assert.Equal((0, "4.4.1"), (reply.Reply.Code, reply.Reply.Enhanced.ToString()));
            Assert.StartsWith("127.0.0.1: ", reply.Reply.Text, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", reply.Reply.Text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Configured_headers_arrive()
    {
        await using var receiver = await HttpReceiver.StartAsync("204");
        using var target = Target($"type: http\nurl: {receiver.Url}\nheaders:\n  Authorization: Bearer s3cret\n  X-Tenant: blue\n");

        var run = await TargetKit.DeliverAsync(target, Message(TargetKit.Content("headers", 1_000)), Recipients);

        Assert.All(run.Body!.Replies.Values, r => Assert.Equal("204 from 127.0.0.1", r.Reply.Text));
        var received = await receiver.ReceivedAsync(1);
        Assert.Equal("Bearer s3cret", received.Header("Authorization"));
        Assert.Equal("blue", received.Header("X-Tenant"));
    }

    [Theory]
    [InlineData("type: http\ntimeout: 5s\n", "http.url: is required")]
    [InlineData("type: http\nurl: ftp://files.test/in\n", "http.url: 'ftp://files.test/in' is not an absolute http:// or https:// URL")]
    [InlineData("type: http\nurl: /relative/path\n", "http.url: '/relative/path' is not an absolute")]
    [InlineData("type: http\nurl: not a url\n", "http.url: 'not a url' is not an absolute")]
    [InlineData("type: http\nurl: http://127.0.0.1/\ntimeout: soon\n", "http.timeout: 'soon' is not a positive duration")]
    [InlineData("type: http\nurl: http://127.0.0.1/\nheaders: Bearer x\n", "http.headers: must be a mapping")]
    [InlineData("type: http\nurl: http://127.0.0.1/\nheaders:\n  Content-Type: text/plain\n", "http.headers: 'Content-Type' is not a request header")]
    [InlineData("type: http\nurl: http://127.0.0.1/\nheaders:\n  Host: other.test\n", "http.headers: 'Host' is set by the target")]
    [InlineData("type: http\nurl: http://127.0.0.1/\nretries: 3\n", "http.retries: unknown key")]
    public void Config_errors_name_the_key(string yaml, string expected)
    {
        var errors = Errors(yaml);
        Assert.True(errors.Any(e => e.Contains(expected, StringComparison.Ordinal)), $"expected '{expected}' in:\n{string.Join("\n", errors)}");
    }

    [Fact]
    public void A_valid_config_has_no_errors()
    {
        Assert.Empty(Errors("type: http\nurl: https://hooks.example.test/mail\ntimeout: 10s\nheaders:\n  Authorization: Bearer x\n"));
    }
}
