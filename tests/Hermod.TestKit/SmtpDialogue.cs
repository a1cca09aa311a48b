using System.Text;
using System.Text.RegularExpressions;

namespace Hermod.TestKit;

/// <summary>
/// The client's side of an SMTP exchange in a test, whatever carries it (a socket, in-memory pipes): send text or
/// lines, read whole replies, expect a reply matching a pattern (a regex anchored at the start).
/// </summary>
public abstract class SmtpDialogue
{
    public Task SendAsync(string text) => SendRawAsync(Encoding.UTF8.GetBytes(text));

    public Task SendLineAsync(string line) => SendAsync(line + "\r\n");

    public abstract Task SendRawAsync(byte[] bytes);

    /// <summary>The next line from the server, without its line ending; throws when the server closed the connection first.</summary>
    protected abstract Task<string> ReadLineAsync();

    /// <summary>Reads one complete reply (all continuation lines) and returns its full text, lines joined with '\n'.</summary>
    public async Task<string> ReadReplyAsync()
    {
        var text = new StringBuilder();
        while (true)
        {
            var line = await ReadLineAsync();
            text.Append(line).Append('\n');
            if (line.Length < 4 || line[3] != '-')
                return text.ToString().TrimEnd('\n');
        }
    }

    /// <summary>Reads one reply and asserts it matches <paramref name="pattern"/> (a regex, anchored at the start).</summary>
    public async Task<string> ExpectAsync(string pattern)
    {
        var reply = await ReadReplyAsync();
        Assert.Matches(new Regex("^" + pattern, RegexOptions.Singleline), reply);
        return reply;
    }

    public async Task<string> SendAndExpectAsync(string line, string pattern)
    {
        await SendLineAsync(line);
        return await ExpectAsync(pattern);
    }

    /// <summary>EHLO then MAIL/RCPT for one local recipient, ready for DATA or BDAT.</summary>
    public async Task StartTransactionAsync(string from = "sender@remote.test", string to = "user@example.test")
    {
        await SendAndExpectAsync("EHLO client.test", "250");
        await SendAndExpectAsync($"MAIL FROM:<{from}>", "250");
        await SendAndExpectAsync($"RCPT TO:<{to}>", "250");
    }
}
