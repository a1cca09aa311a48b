using Hermod.Hosting.TestKit;
using Hermod.Smtp.Protocol;
using static Hermod.Hosting.TestKit.HostKit;

namespace Hermod.Hosting.Tests.Smtp;

/// <summary>Only CRLF.CRLF ends DATA: no other ending ends the data or lets a second message in.</summary>
public sealed class SmtpSmugglingTests : IAsyncLifetime
{
    private TestHost _reject = null!;
    private TestHost _normalize = null!;

    public async Task InitializeAsync()
    {
        _reject = await TestHost.StartAsync();
        _normalize = await TestHost.StartAsync(o => o.Smtp.BareLineEndings = BareLineEndingPolicy.Normalize);
    }

    public async Task DisposeAsync()
    {
        await _reject.DisposeAsync();
        await _normalize.DisposeAsync();
    }

    public static TheoryData<string> Endings => new() { "\n.\n", "\n.\r\n", "\r.\r", "\r.\n", "\r\n.\r", "\r\n.\n", "\r\n\0.\r\n", "\n..\n", ".\n" };

    private static string Smuggled(string ending) =>
        "Subject: innocent\r\n\r\nfirst" + ending +
        "MAIL FROM:<evil@attacker.test>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n";

    [Theory]
    [MemberData(nameof(Endings))]
    public async Task Reject_policy_refuses_the_message_and_no_second_message_appears(string ending)
    {
        await using var smtp = await ConnectAndGreetAsync(_reject);
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAsync(Smuggled(ending));
        var reply = await smtp.ReadReplyAsync();
        await smtp.SendAndExpectAsync("NOOP", @"250 2\.0\.0 OK"); // exactly one reply came for the whole data
        if (ending == "\r\n\0.\r\n") // no bare line ending: one message, with the NUL line in it
        {
            Assert.StartsWith("250 2.0.0 Ok: queued", reply);
            var body = Body(await StoredContentAsync(_reject, QueueId(reply)));
            Assert.Contains("\r\nMAIL FROM:<evil@attacker.test>\r\n", body);
        }
        else
            Assert.StartsWith("550 5.6.0", reply);
        foreach (var m in await _reject.Store.ListAsync(null, 1000, default))
            Assert.NotEqual("evil@attacker.test", m.Envelope.Sender);
    }

    [Theory]
    [MemberData(nameof(Endings))]
    public async Task Normalize_policy_keeps_one_message_with_crlf_line_ends(string ending)
    {
        await using var smtp = await ConnectAndGreetAsync(_normalize);
        await smtp.StartTransactionAsync();
        await smtp.SendAndExpectAsync("DATA", "354");
        await smtp.SendAsync(Smuggled(ending));
        var id = QueueId(await smtp.ExpectAsync("250 2.0.0 Ok: queued"));
        await smtp.SendAndExpectAsync("NOOP", @"250 2\.0\.0 OK");
        var body = Body(await StoredContentAsync(_normalize, id));
        Assert.Contains("MAIL FROM:<evil@attacker.test>", body); // the smuggled commands are content
        Assert.DoesNotContain("\n", body.Replace("\r\n", "", StringComparison.Ordinal));
        Assert.DoesNotContain("\r", body.Replace("\r\n", "", StringComparison.Ordinal));
        foreach (var m in await _normalize.Store.ListAsync(null, 1000, default))
            Assert.NotEqual("evil@attacker.test", m.Envelope.Sender);
    }
}
