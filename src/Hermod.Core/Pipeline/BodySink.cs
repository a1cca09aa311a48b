using System.Buffers;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Microsoft.Extensions.Logging;

namespace Hermod.Core.Pipeline;

/// <summary>
/// Where a body is written: through the filters of its stream processors, in order, into the blob store. Bounded
/// memory: each stage buffers at most what one write hands it. With no processors it writes straight to the blob.
/// A processor that throws is our fault, not the sender's: it is logged with the processor's name, nothing more
/// passes through the processors, and <see cref="Complete"/> refuses the body with <see cref="SmtpReply.LocalError"/>.
/// </summary>
public sealed partial class BodySink : IBufferWriter<byte>, IDisposable
{
    private readonly IBlobWriter _blob;
    private readonly IReadOnlyList<IStreamProcessor> _processors;
    private readonly IBodyFilter[] _filters;
    private readonly Link[] _links; // _links[i] feeds _filters[i]; the last one feeds the blob
    private readonly int _direct; // from this stage on every filter passes through: bytes go straight into the blob's buffer
    private readonly ILogger _logger;
    private readonly string _messageId;
    private bool _failed; // a processor threw: what is written from then on is dropped

    public BodySink(IReadOnlyList<IStreamProcessor> processors, BodyContext context, IBlobWriter blob, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(processors);
        ArgumentNullException.ThrowIfNull(context);
        _blob = blob;
        _processors = processors;
        _logger = logger;
        _messageId = context.MessageId;
        _filters = new IBodyFilter[processors.Count];
        for (var i = 0; i < _filters.Length && !_failed; i++)
        {
            try
            {
                _filters[i] = processors[i].Begin(context, blob);
            }
            catch (Exception e)
            {
                Fail(i, e);
            }
        }
        _direct = _filters.Length;
        while (!_failed && _direct > 0 && _filters[_direct - 1].PassesThrough)
            _direct--;
        _links = new Link[_filters.Length + 1];
        for (var i = 0; i < _links.Length; i++)
            _links[i] = new Link(this, i);
    }

    /// <summary>Bytes of body written so far (before any processor changed them).</summary>
    public long Length { get; private set; }

    public bool ShouldFlush => _blob.ShouldFlush;

    public ValueTask FlushAsync(CancellationToken cancellationToken) => _blob.FlushAsync(cancellationToken);

    public Memory<byte> GetMemory(int sizeHint = 0) => _links[0].GetMemory(sizeHint);

    public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public void Advance(int count)
    {
        Length += count;
        _links[0].Advance(count);
    }

    /// <summary>Writes a whole body held in memory (an HTTP submission), flushing chunk by chunk.</summary>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        for (var offset = 0; offset < content.Length; offset += 64 * 1024)
        {
            this.Write(content.Span.Slice(offset, Math.Min(64 * 1024, content.Length - offset)));
            if (ShouldFlush)
                await FlushAsync(cancellationToken);
        }
    }

    /// <summary>The header prefix <see cref="Complete"/> will give, when every processor knows its part already; else null.</summary>
    public string? PrefixAtStart
    {
        get
        {
            if (_failed)
                return null;
            var prefix = "";
            foreach (var filter in _filters)
            {
                if (!filter.PrefixKnownAtStart)
                    return null;
                prefix += filter.Prefix;
            }
            return prefix;
        }
    }

    /// <summary>
    /// Ends the body: each processor in turn writes what it kept back; the first refusal wins. Returns it, and the
    /// header prefix; a processor that threw, now or before, makes it <see cref="SmtpReply.LocalError"/>.
    /// </summary>
    public (SmtpReply? Refusal, string Prefix) Complete()
    {
        SmtpReply? refusal = null;
        var prefix = "";
        for (var i = 0; i < _filters.Length && !_failed; i++)
        {
            try
            {
                refusal ??= _filters[i].Complete(_links[i + 1]);
                prefix += _filters[i].Prefix;
            }
            catch (Exception e)
            {
                Fail(i, e);
            }
        }
        return _failed ? (SmtpReply.LocalError, "") : (refusal, prefix);
    }

    private void Fail(int stage, Exception e)
    {
        if (_failed)
            return;
        _failed = true;
        LogProcessorFailed(_logger, e, _messageId, _processors[stage].Name);
    }

    public void Dispose()
    {
        foreach (var link in _links)
            link.Dispose();
    }

    /// <summary>The buffer writer one stage writes into; what is written goes on to the next stage.</summary>
    private sealed class Link(BodySink sink, int stage) : IBufferWriter<byte>, IDisposable
    {
        private byte[] _buffer = [];
        private Memory<byte> _handedOut;

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            if (stage >= sink._direct)
                return _handedOut = sink._blob.GetMemory(sizeHint);
            if (_buffer.Length < Math.Max(sizeHint, 4096))
            {
                if (_buffer.Length > 0)
                    ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(sizeHint, 16 * 1024));
            }
            return _buffer;
        }

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

        public void Advance(int count)
        {
            if (sink._failed)
                return; // the body is refused: nothing more goes through the processors or into the blob
            var i = stage;
            try
            {
                if (stage >= sink._direct)
                {
                    var data = _handedOut.Span[..count];
                    for (; i < sink._filters.Length; i++)
                        sink._filters[i].Observe(data);
                }
                else
                    sink._filters[stage].Write(_buffer.AsSpan(0, count), sink._links[stage + 1]);
            }
            catch (Exception e)
            {
                sink.Fail(i, e);
                return;
            }
            if (stage >= sink._direct)
                sink._blob.Advance(count);
        }

        public void Dispose()
        {
            if (_buffer.Length > 0)
                ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }

    [LoggerMessage(5002, LogLevel.Error, "{MessageId}: stream processor {Processor} failed; the message is refused with 451 4.3.0")]
    private static partial void LogProcessorFailed(ILogger logger, Exception e, string messageId, string processor);
}
