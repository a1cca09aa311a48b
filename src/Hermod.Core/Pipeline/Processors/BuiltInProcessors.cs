using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Hermod.Core.Extensions;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Hermod.Core.Text;
using Microsoft.Extensions.Logging;

namespace Hermod.Core.Pipeline.Processors;

/// <summary>The built-in stream processors; <see cref="Default"/> is the chain of a pipeline that names none.</summary>
public static class BuiltInProcessors
{
    /// <summary>The chain when none is configured: the Received header and the content hash (identical bodies stored once).</summary>
    public static IReadOnlyList<IStreamProcessor> Default { get; } = [new TraceHeaderProcessor(), new HashProcessor()];

    /// <summary>The built-in stream processors under their names (options in config/hermod.reference.yaml).</summary>
    public static IReadOnlyList<ComponentRegistration<IStreamProcessor>> All { get; } =
    [
        new("trace_header", c =>
        {
            c.Config.Known();
            return new TraceHeaderProcessor();
        }),
        new("hash", c =>
        {
            c.Config.Known();
            return new HashProcessor();
        }),
        new("compress", c =>
        {
            c.Config.Known("level");
            var level = c.Config.String("level") ?? "fastest";
            if (level is not ("fastest" or "optimal" or "smallest"))
                c.Config.Error("level", $"'{level}' is not one of fastest, optimal, smallest");
            return new CompressProcessor(level switch { "optimal" => 5, "smallest" => 11, _ => 1 });
        }),
        new("size_limit", c =>
        {
            c.Config.Known("max");
            var max = c.Config.Size("max", 1, 1L << 40);
            if (max is null && !c.Config.Has("max"))
                c.Config.Error("max", "is required (e.g. 10MB)");
            return new SizeLimitProcessor(max ?? long.MaxValue);
        }),
        new("debug", c =>
        {
            c.Config.Known("preview");
            var preview = c.Config.Size("preview", 0, 64 * 1024) ?? 200;
            var logger = ((ILoggerFactory?)c.Services.GetService(typeof(ILoggerFactory)))?.CreateLogger("Hermod.Debug")
                ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
            return new DebugProcessor(logger, (int)preview);
        }),
    ];
}

/// <summary>trace_header: the RFC 5321 4.4 Received header (protocol names per RFC 3848 and RFC 6531), in front of the message.</summary>
public sealed class TraceHeaderProcessor : IStreamProcessor
{
    public string Name => "trace_header";

    public IBodyFilter Begin(BodyContext context, IBlobWriter blob) => new Filter(context);

    public static string Received(BodyContext c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var from = c.Helo.Length > 0 ? $"{c.Helo} ([{c.ClientAddress}])" : $"[{c.ClientAddress}]";
        var tls = c.TlsDetails is null ? "" : $"\r\n\t({c.TlsDetails})";
        var forClause = c.Recipients.Count == 1 ? $"\r\n\tfor <{c.Recipients[0]}>" : "";
        return $"Received: from {from}{tls}\r\n\tby {c.Hostname} (Hermod) with {c.Protocol} id {c.MessageId}{forClause};\r\n\t{Rfc5322.Date(c.Received)}\r\n";
    }

    private sealed class Filter(BodyContext context) : IBodyFilter
    {
        public bool PrefixKnownAtStart => true;

        public string Prefix { get; } = Received(context);

        public bool PassesThrough => true;

        public SmtpReply? Complete(IBufferWriter<byte> next) => null;
    }
}

/// <summary>hash: the SHA-256 of the bytes as stored becomes the blob's content address, so identical bodies are stored once.</summary>
public sealed class HashProcessor : IStreamProcessor
{
    private const int MaxSpare = 64;

    // Contexts of finished messages, reset and reused: making one costs more than hashing a small message.
    private readonly ConcurrentQueue<IncrementalHash> _spare = new();

    public string Name => "hash";

    public IBodyFilter Begin(BodyContext context, IBlobWriter blob) =>
        new Filter(this, blob, _spare.TryDequeue(out var hash) ? hash : IncrementalHash.CreateHash(HashAlgorithmName.SHA256));

    private void Return(IncrementalHash hash)
    {
        if (_spare.Count < MaxSpare)
            _spare.Enqueue(hash);
        else
            hash.Dispose();
    }

    private sealed class Filter(HashProcessor owner, IBlobWriter blob, IncrementalHash hash) : IBodyFilter
    {
        public bool PrefixKnownAtStart => true;

        public bool PassesThrough => true;

        public void Observe(ReadOnlySpan<byte> data) => hash.AppendData(data);

        public SmtpReply? Complete(IBufferWriter<byte> next)
        {
            blob.ContentHash = hash.GetHashAndReset(); // reset: ready for the next message
            owner.Return(hash);
            return null;
        }
    }
}

/// <summary>compress: Brotli at rest; every reader gets the body back as it was (the blob records its encoding).</summary>
public sealed class CompressProcessor(int quality) : IStreamProcessor
{
    public string Name => "compress";

    public IBodyFilter Begin(BodyContext context, IBlobWriter blob)
    {
        ArgumentNullException.ThrowIfNull(blob);
        blob.ContentEncoding = "br";
        return new Filter(blob, quality);
    }

    private sealed class Filter(IBlobWriter blob, int quality) : IBodyFilter
    {
        public bool PrefixKnownAtStart => true;

        private BrotliEncoder _encoder = new(quality, 22);
        private long _decoded;

        public void Write(ReadOnlySpan<byte> data, IBufferWriter<byte> next)
        {
            _decoded += data.Length;
            while (true)
            {
                var status = _encoder.Compress(data, next.GetSpan(16 * 1024), out var consumed, out var written, isFinalBlock: false);
                next.Advance(written);
                data = data[consumed..];
                if (status == OperationStatus.Done && data.IsEmpty)
                    return;
                if (status is OperationStatus.InvalidData)
                    throw new InvalidOperationException("brotli encoder failed");
            }
        }

        public SmtpReply? Complete(IBufferWriter<byte> next)
        {
            OperationStatus status;
            do
            {
                status = _encoder.Compress([], next.GetSpan(16 * 1024), out _, out var written, isFinalBlock: true);
                next.Advance(written);
            }
            while (status == OperationStatus.DestinationTooSmall);
            _encoder.Dispose();
            blob.DecodedLength = _decoded;
            return null;
        }
    }
}

/// <summary>size_limit: refuses a body larger than <c>max</c> bytes with 552 5.3.4 (and stores nothing past it).</summary>
public sealed class SizeLimitProcessor(long max) : IStreamProcessor
{
    public string Name => "size_limit";

    public IBodyFilter Begin(BodyContext context, IBlobWriter blob) => new Filter(max);

    private sealed class Filter(long max) : IBodyFilter
    {
        public bool PrefixKnownAtStart => true;

        private long _length;

        public void Write(ReadOnlySpan<byte> data, IBufferWriter<byte> next)
        {
            _length += data.Length;
            if (_length <= max)
                next.Write(data);
        }

        public SmtpReply? Complete(IBufferWriter<byte> next) =>
            _length > max ? new SmtpReply(552, new(5, 3, 4), $"Message too big (this service takes at most {max} bytes)") : null;
    }
}

/// <summary>debug: logs each body at Debug level — its size, lines and the first bytes (printable ASCII; the rest as '.').</summary>
public sealed partial class DebugProcessor(ILogger logger, int preview) : IStreamProcessor
{
    public string Name => "debug";

    public IBodyFilter Begin(BodyContext context, IBlobWriter blob) => new Filter(this, context);

    private sealed partial class Filter(DebugProcessor processor, BodyContext context) : IBodyFilter
    {
        public bool PrefixKnownAtStart => true;

        private readonly StringBuilder _preview = new();
        private long _length;
        private long _lines;

        public bool PassesThrough => true;

        public void Observe(ReadOnlySpan<byte> data)
        {
            _length += data.Length;
            _lines += data.Count((byte)'\n');
            for (var i = 0; i < data.Length && _preview.Length < processor._preview; i++)
                _preview.Append(data[i] is >= 32 and < 127 ? (char)data[i] : data[i] == '\n' ? '|' : '.');
        }

        public SmtpReply? Complete(IBufferWriter<byte> next)
        {
            LogBody(processor._logger, context.MessageId, _length, _lines, _preview.ToString());
            return null;
        }

        [LoggerMessage(5001, LogLevel.Debug, "{MessageId}: body of {Length} bytes, {Lines} lines: {Preview}")]
        private static partial void LogBody(ILogger logger, string messageId, long length, long lines, string preview);
    }

    private readonly ILogger _logger = logger;
    private readonly int _preview = preview;
}
