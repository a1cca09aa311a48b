using System.Text;
using Hermod.TestKit;

namespace Hermod.Hosting.TestKit;

/// <summary>What the tests do with a <see cref="TestHost"/>: greet one of its listeners, take a queue id from a reply, read a stored message back.</summary>
public static class HostKit
{
    public static async Task<SmtpTranscript> ConnectAndGreetAsync(TestHost host, string listener = "mx")
    {
        var smtp = await SmtpTranscript.ConnectAsync(host.Smtp(listener));
        await smtp.ExpectAsync("220 mx.example.test ESMTP");
        return smtp;
    }

    public static string QueueId(string reply) => reply[(reply.LastIndexOf(' ') + 1)..];

    public static async Task<string> StoredContentAsync(TestHost host, string id)
    {
        using var content = new MemoryStream();
        Assert.True(await host.Store.CopyContentAsync(id, content, default));
        return Encoding.UTF8.GetString(content.ToArray());
    }

    /// <summary>The stored message without Hermod's Received header (the first header; its continuation lines start with a tab).</summary>
    public static string Body(string stored)
    {
        var lines = stored.Split("\r\n");
        var skip = 1;
        while (lines[skip].StartsWith('\t'))
            skip++;
        return string.Join("\r\n", lines[skip..]);
    }
}
