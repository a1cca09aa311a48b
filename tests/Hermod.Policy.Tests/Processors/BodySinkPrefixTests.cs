using System.Buffers;
using Hermod.Core.Pipeline;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Policy.Processors;
using Hermod.TestKit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hermod.Policy.Tests.Processors;

/// <summary>What a chain of processors puts in front of a body, when it is known from the start (cut-through streams the body then).</summary>
public sealed class BodySinkPrefixTests
{
    private static readonly BodyContext Context = new("ID1", "mx.example.test", "client.test", System.Net.IPAddress.Loopback, "ESMTP", null,
        ["u@example.test"], new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));

    /// <summary>A processor whose prefix depends on the body: known only when it is complete.</summary>
    private sealed class LateHeader : IStreamProcessor
    {
        public string Name => "late";

        public IBodyFilter Begin(BodyContext context, IBlobWriter blob) => new Filter();

        private sealed class Filter : IBodyFilter
        {
            public bool PassesThrough => true;

            public string Prefix => "X-Spam-Score: 0\r\n";

            public SmtpReply? Complete(IBufferWriter<byte> next) => null;
        }
    }

    [Fact]
    public void The_default_chain_knows_its_trace_header_from_the_start_and_gives_the_same_at_the_end()
    {
        using var sink = new BodySink(BuiltInProcessors.Default, Context, new MemoryBlob(), NullLogger.Instance);
        var atStart = sink.PrefixAtStart;
        Assert.Equal(TraceHeaderProcessor.Received(Context), atStart);
        sink.Write("Subject: x\r\n\r\nbody\r\n"u8);
        Assert.Equal((null, atStart), sink.Complete());
    }

    [Fact]
    public void A_processor_that_decides_its_prefix_at_the_end_makes_it_unknown_at_the_start()
    {
        using var sink = new BodySink([new TraceHeaderProcessor(), new LateHeader()], Context, new MemoryBlob(), NullLogger.Instance);
        Assert.Null(sink.PrefixAtStart);
    }

    /// <summary>A processor that throws where it is told to: starting a body, taking its bytes, or ending it.</summary>
    private sealed class BrokenProcessor(string where) : IStreamProcessor
    {
        public string Name => "broken_processor";

        public IBodyFilter Begin(BodyContext context, IBlobWriter blob) =>
            where == "begin" ? throw new InvalidOperationException("a bug in the processor") : new Filter(where);

        private sealed class Filter(string where) : IBodyFilter
        {
            public void Write(ReadOnlySpan<byte> data, IBufferWriter<byte> next)
            {
                if (where == "write")
                    throw new InvalidOperationException("a bug in the processor");
                next.Write(data);
            }

            public SmtpReply? Complete(IBufferWriter<byte> next) =>
                where == "complete" ? throw new InvalidOperationException("a bug in the processor") : null;
        }
    }

    [Theory]
    [InlineData("begin")]
    [InlineData("write")]
    [InlineData("complete")]
    public void A_processor_that_throws_refuses_the_body_with_451_4_3_0_and_the_log_names_it(string where)
    {
        using var log = new LogCapture();
        var blob = new MemoryBlob();
        using var sink = new BodySink([new TraceHeaderProcessor(), new BrokenProcessor(where), new HashProcessor()], Context, blob, log.CreateLogger("body"));
        sink.Write("Subject: x\r\n\r\nbody\r\n"u8);
        sink.Write("more body\r\n"u8); // after a failure: dropped, nothing reaches a processor or the blob

        var (refusal, prefix) = sink.Complete();
        Assert.Same(SmtpReply.LocalError, refusal);
        Assert.Equal("", prefix);
        Assert.DoesNotContain("broken_processor", refusal!.Text, StringComparison.Ordinal);
        var entry = Assert.Single(log.Entries);
        Assert.Equal(LogLevel.Error, entry.Level);
        Assert.Contains("broken_processor", entry.Message, StringComparison.Ordinal);
        Assert.Contains("ID1", entry.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(entry.Exception);
        if (where != "complete")
        {
            Assert.Null(sink.PrefixAtStart);
            Assert.Equal(0, blob.Length);
        }
    }
}
