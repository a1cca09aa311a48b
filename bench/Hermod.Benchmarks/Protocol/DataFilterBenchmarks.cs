using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Hermod.Smtp.Protocol;

namespace Hermod.Benchmarks.Protocol;

/// <summary>
/// <see cref="DataFilter.Process"/> in DATA mode over a 1 MiB message as it arrives on the wire: a header block,
/// 76-octet body lines with every 16th line dot-stuffed, then CRLF "." CRLF. The input is fed in chunks of
/// <see cref="ChunkSize"/> bytes, as a read loop would.
/// </summary>
[MemoryDiagnoser]
public class DataFilterBenchmarks
{
    private const int BodySize = 1024 * 1024;
    private const int MaxTextLine = 1000;
    private const int MaxHeaderSize = 256 * 1024;

    private byte[] _wire = [];
    private long _expectedLength;
    private ArrayBufferWriter<byte> _output = null!;

    /// <summary>Bytes handed to each Process call: 4096 is a Kestrel pipe segment; 0 means the whole message at once.</summary>
    [Params(0, 4096)]
    public int ChunkSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var wire = new StringBuilder();
        var body = new StringBuilder();
        void Line(string text)
        {
            body.Append(text).Append("\r\n");
            wire.Append(text.StartsWith('.') ? "." : "").Append(text).Append("\r\n");
        }

        Line("Received: from client.remote.test ([127.0.0.1]) by mx.example.test with ESMTP id 0123456789");
        Line("From: Sender <a@remote.test>");
        Line("To: User <u@example.test>");
        Line("Subject: benchmark message");
        Line("Date: Sat, 22 Nov 2025 11:00:00 +0000");
        Line("Message-ID: <bench.0123456789@remote.test>");
        Line("MIME-Version: 1.0");
        Line("Content-Type: text/plain; charset=utf-8");
        Line("");
        for (var i = 0; body.Length < BodySize; i++)
        {
            var start = i % 16 == 0 ? "." : "";
            Line((start + $"line {i:D6} " + new string((char)('a' + (i % 26)), 76)).Substring(0, 76));
        }
        wire.Append(".\r\n");
        _wire = Encoding.ASCII.GetBytes(wire.ToString());
        _expectedLength = body.Length;
        _output = new ArrayBufferWriter<byte>(_wire.Length);

        if (ToBufferWriter() != _expectedLength || CountOnly() != _expectedLength ||
            !_output.WrittenSpan.SequenceEqual(Encoding.ASCII.GetBytes(body.ToString())))
            throw new InvalidOperationException("the message was not unstuffed as expected");
    }

    /// <summary>Unstuffs into a reused <see cref="ArrayBufferWriter{T}"/> (no allocation from the writer).</summary>
    [Benchmark]
    public long ToBufferWriter()
    {
        _output.ResetWrittenCount();
        return Run(_output);
    }

    /// <summary>Checks and counts only (the path taken once a message is over the size limit).</summary>
    [Benchmark]
    public long CountOnly() => Run(null);

    private long Run(IBufferWriter<byte>? output)
    {
        var filter = new DataFilter(dotStuffed: true, BareLineEndingPolicy.Reject, MaxTextLine, MaxHeaderSize);
        var input = _wire.AsSpan();
        var chunk = ChunkSize == 0 ? input.Length : ChunkSize;
        while (!input.IsEmpty && !filter.Completed)
        {
            var piece = input[..Math.Min(chunk, input.Length)];
            var used = filter.Process(piece, output);
            input = input[used..];
        }
        if (!filter.Completed || filter.SawBareLineEnding || filter.LineTooLong || filter.HeaderTooLarge)
            throw new InvalidOperationException("the message did not end cleanly");
        return filter.Length;
    }
}
