using System.Text;
using Hermod.Core.Smtp;
using Hermod.Smtp.Client;
using Hermod.Smtp.Protocol;
using Hermod.Smtp.Tests.TestKit;

namespace Hermod.Smtp.Tests.Client;

public sealed class ContentStreamTests
{
    public static TheoryData<string, string> Stuffing => new()
    {
        { "Subject: x\r\n\r\nbody\r\n", "Subject: x\r\n\r\nbody\r\n.\r\n" },
        { ".\r\n", "..\r\n.\r\n" },
        { "..x\r\n", "...x\r\n.\r\n" },
        { "a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n" },
        { "a\r\n.", "a\r\n..\r\n.\r\n" },
        { "no final line ending", "no final line ending\r\n.\r\n" },
        { "a.b\r\n.a.b\r\n", "a.b\r\n..a.b\r\n.\r\n" },
        { "", ".\r\n" },
        { "\r\n", "\r\n.\r\n" },
        { "bare\n.lf\r\n", "bare\n..lf\r\n.\r\n" },
        { "bare\r.cr\r\n", "bare\r..cr\r\n.\r\n" },
        { "ends in cr\r", "ends in cr\r\r\n.\r\n" },
        { "\r\n.\r\n", "\r\n..\r\n.\r\n" },
    };

    [Theory]
    [MemberData(nameof(Stuffing))]
    public async Task DotStuffing_gives_the_same_bytes_for_every_split_of_the_writes(string content, string wire)
    {
        var bytes = Encoding.ASCII.GetBytes(content);
        foreach (var cuts in Segments.AllCuts(bytes.Length))
        {
            var sent = new MemoryStream();
            var sends = new List<int>();
            await using var stream = new DotStuffingStream(8, b =>
            {
                sends.Add(b.Length);
                sent.Write(b.Span);
                return ValueTask.CompletedTask;
            });
            foreach (var part in Segments.Split(bytes, cuts))
                await stream.WriteAsync(part);
            await stream.CompleteAsync();
            Assert.Equal(wire, Encoding.ASCII.GetString(sent.ToArray()));
            Assert.Equal(bytes.Length, stream.ContentLength);
            Assert.All(sends, n => Assert.InRange(n, 1, 8)); // bounded by the buffer, whatever the content size
        }
    }

    [Theory]
    [MemberData(nameof(Stuffing))]
    public async Task DotStuffed_content_unstuffed_by_the_server_DataFilter_is_the_content(string content, string wire)
    {
        _ = wire;
        if (content.Replace("\r\n", "", StringComparison.Ordinal).IndexOfAny(['\r', '\n']) >= 0)
            return; // bare CR / LF: the server's policy decides, not the stuffing
        var sent = new MemoryStream();
        await using var stream = new DotStuffingStream(16, b =>
        {
            sent.Write(b.Span);
            return ValueTask.CompletedTask;
        });
        await stream.WriteAsync(Encoding.ASCII.GetBytes(content));
        await stream.CompleteAsync();

        var filter = new DataFilter(dotStuffed: true, BareLineEndingPolicy.Reject, 1000, 64 * 1024);
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        var consumed = filter.Process(sent.ToArray(), output);
        Assert.True(filter.Completed);
        Assert.Equal(sent.Length, consumed);
        var expected = content.Length == 0 || content.EndsWith("\r\n", StringComparison.Ordinal) ? content : content + "\r\n";
        Assert.Equal(expected, Encoding.ASCII.GetString(output.WrittenSpan));
    }

    [Fact]
    public async Task A_large_content_streams_through_a_fixed_buffer()
    {
        var line = Encoding.ASCII.GetBytes(".a line that starts with a dot and is dot-stuffed\r\n");
        var max = 0;
        long total = 0;
        await using var stream = new DotStuffingStream(4096, b =>
        {
            max = Math.Max(max, b.Length);
            total += b.Length;
            return ValueTask.CompletedTask;
        });
        for (var i = 0; i < 100_000; i++)
            await stream.WriteAsync(line);
        await stream.CompleteAsync();
        Assert.Equal(100_000L * (line.Length + 1) + 3, total);
        Assert.InRange(max, 1, 4096);
    }

    [Fact]
    public async Task Bdat_cuts_chunks_of_the_chunk_size_and_sends_the_last_one_with_LAST()
    {
        var content = Enumerable.Range(0, 25).Select(i => (byte)('a' + i)).ToArray();
        foreach (var cuts in Segments.AllCuts(content.Length))
        {
            var wire = new MemoryStream();
            var commands = new List<string>();
            await using var stream = new BdatStream(10, 1, (b, command) =>
            {
                commands.Add(command);
                wire.Write(b.Span);
                return ValueTask.CompletedTask;
            }, () => ValueTask.FromResult(new SmtpReply(250, new(2, 0, 0), "chunk")));
            foreach (var part in Segments.Split(content, cuts))
                await stream.WriteAsync(part);
            var final = await stream.CompleteAsync(() => ValueTask.FromResult(new SmtpReply(250, new(2, 0, 0), "queued")));
            Assert.Equal("queued", final.Text);
            Assert.Equal(["BDAT 10", "BDAT 10", "BDAT 5 LAST"], commands);
            Assert.Equal("BDAT 10\r\nabcdefghijBDAT 10\r\nklmnopqrstBDAT 5 LAST\r\nuvwxy", Encoding.ASCII.GetString(wire.ToArray()));
        }
    }

    [Fact]
    public async Task Bdat_with_empty_content_sends_BDAT_0_LAST()
    {
        var commands = new List<string>();
        await using var stream = new BdatStream(10, 1, (b, command) =>
        {
            commands.Add(command);
            return ValueTask.CompletedTask;
        }, () => throw new InvalidOperationException("no chunk reply expected"));
        var final = await stream.CompleteAsync(() => ValueTask.FromResult(new SmtpReply(250, EnhancedStatusCode.None, "ok")));
        Assert.Equal(["BDAT 0 LAST"], commands);
        Assert.Equal(250, final.Code);
    }

    [Fact]
    public async Task Bdat_stops_sending_after_a_refused_chunk_and_returns_the_refusal()
    {
        var commands = new List<string>();
        var replies = new Queue<SmtpReply>([new SmtpReply(250, EnhancedStatusCode.None, "ok"), new SmtpReply(552, new(5, 3, 4), "too big"), new SmtpReply(503, EnhancedStatusCode.None, "x")]);
        await using var stream = new BdatStream(4, 2, (b, command) =>
        {
            commands.Add(command);
            return ValueTask.CompletedTask;
        }, () => ValueTask.FromResult(replies.Dequeue()));
        var content = new byte[40];
        var thrown = await Assert.ThrowsAsync<IOException>(async () =>
        {
            for (var i = 0; i < content.Length; i += 4)
                await stream.WriteAsync(content.AsMemory(i, 4));
        });
        Assert.Contains("552", thrown.Message);
        var final = await stream.CompleteAsync(() => throw new InvalidOperationException("LAST was not sent"));
        Assert.Equal(552, final.Code);
        Assert.False(stream.LastSent);
        // window 2: chunk 1 and 2 sent, reply 1 read; chunk 3 sent, reply 2 (552) read; no more chunks; reply 3 drained.
        Assert.Equal(["BDAT 4", "BDAT 4", "BDAT 4"], commands);
        Assert.Empty(replies);
    }
}
