using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Hermod.Smtp.Protocol;

namespace Hermod.Benchmarks.Protocol;

/// <summary>
/// Command framing and parsing over one pipelined batch, the way the session's read loop walks a buffer:
/// EHLO, then <see cref="Transactions"/> x (MAIL FROM with parameters, two RCPT TO, RSET), then QUIT.
/// Results are per command line.
/// </summary>
[MemoryDiagnoser]
public class CommandParserBenchmarks
{
    private const int Transactions = 200;
    private const int Lines = 2 + (4 * Transactions);
    private const int MaxCommandLine = 512;

    private ReadOnlySequence<byte> _batch;

    /// <summary>Bytes per buffer segment: 4096 is what a Kestrel pipe hands over; 0 means one contiguous buffer.</summary>
    [Params(0, 4096)]
    public int SegmentSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var text = new StringBuilder("EHLO client.remote.test\r\n");
        for (var i = 0; i < Transactions; i++)
        {
            text.Append("MAIL FROM:<sender").Append(i).Append("@remote.test> SIZE=1024 BODY=8BITMIME\r\n");
            text.Append("RCPT TO:<user").Append(i).Append("@example.test>\r\n");
            text.Append("RCPT TO:<other").Append(i).Append("@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;other@example.test\r\n");
            text.Append("RSET\r\n");
        }
        text.Append("QUIT\r\n");
        var bytes = Encoding.ASCII.GetBytes(text.ToString());
        _batch = SegmentSize == 0 ? new ReadOnlySequence<byte>(bytes) : Segments.Split(bytes, SegmentSize);

        if (ReadLines() != Lines || ReadAndParse() != Lines)
            throw new InvalidOperationException("the batch did not parse into the expected commands");
    }

    /// <summary>Framing only: <see cref="CommandParser.TryReadLine"/> until the buffer is used up.</summary>
    [Benchmark(OperationsPerInvoke = Lines)]
    public int ReadLines()
    {
        var reader = new SequenceReader<byte>(_batch);
        var count = 0;
        while (CommandParser.TryReadLine(ref reader, MaxCommandLine, out _) == CommandParser.LineStatus.Complete)
            count++;
        return count;
    }

    /// <summary>Framing and <see cref="CommandParser.Parse"/> (a line split across segments is copied first, as the session does).</summary>
    [Benchmark(OperationsPerInvoke = Lines)]
    public int ReadAndParse()
    {
        var reader = new SequenceReader<byte>(_batch);
        var known = 0;
        while (CommandParser.TryReadLine(ref reader, MaxCommandLine, out var line) == CommandParser.LineStatus.Complete)
        {
            var command = line.IsSingleSegment ? CommandParser.Parse(line.FirstSpan) : CommandParser.Parse(line.ToArray());
            if (command.Verb != SmtpVerb.Unknown)
                known++;
        }
        return known;
    }
}
