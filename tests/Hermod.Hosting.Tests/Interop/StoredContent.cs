using System.Text;
using System.Text.RegularExpressions;
using Hermod.Core.Storage;

namespace Hermod.Hosting.Tests.Interop;

/// <summary>A stored message split into Hermod's Received header and the content exactly as the client sent it.</summary>
public sealed record StoredContent(string Received, byte[] Body)
{
    public string BodyText => Encoding.UTF8.GetString(Body);

    /// <summary>The whole stored message in bytes (what the store reports as its size).</summary>
    public long Length => Encoding.UTF8.GetByteCount(Received) + Body.Length;

    /// <summary>
    /// Splits what the store returns (<see cref="IMessageStore.CopyContentAsync"/>, <c>queue show --raw</c>): the first
    /// header is Hermod's Received header, its continuation lines start with a tab; everything after it is the body.
    /// </summary>
    public static StoredContent Split(ReadOnlySpan<byte> stored)
    {
        Assert.True(stored.StartsWith("Received: "u8), "the stored message does not start with a Received header: "
            + Encoding.UTF8.GetString(stored[..Math.Min(stored.Length, 200)]));
        var end = 0;
        while (true)
        {
            var lf = stored[end..].IndexOf((byte)'\n');
            Assert.True(lf > 0 && stored[end + lf - 1] == '\r', "the Received header has a line without CRLF");
            end += lf + 1;
            if (end >= stored.Length || stored[end] != '\t')
                break;
        }
        return new StoredContent(Encoding.UTF8.GetString(stored[..end]), stored[end..].ToArray());
    }

    public static async Task<StoredContent> ReadAsync(IMessageStore store, string id)
    {
        using var buffer = new MemoryStream();
        Assert.True(await store.CopyContentAsync(id, buffer, CancellationToken.None), $"message {id} is not in the store");
        return Split(buffer.ToArray());
    }

    /// <summary>The queue id from a "250 2.0.0 Ok: queued as ID" reply anywhere in <paramref name="text"/>.</summary>
    public static string QueueIdFrom(string text)
    {
        var match = Regex.Match(text, @"250[ -]2\.0\.0 Ok: queued as ([0-9A-Z]{20})\b");
        Assert.True(match.Success, "no '250 2.0.0 Ok: queued as ID' in:\n" + text);
        return match.Groups[1].Value;
    }
}
