using System.Buffers;
using System.Text;
using Hermod.Core.Pipeline;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;
using Microsoft.Extensions.Logging;

namespace Hermod.Policy.Processors;

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
