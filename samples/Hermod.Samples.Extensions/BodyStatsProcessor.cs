using System.Buffers;
using System.Globalization;
using Hermod.Core.Configuration;
using Hermod.Core.Pipeline;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;

namespace Hermod.Samples.Extensions;

/// <summary>
/// A stream processor: counts the lines and bytes of each body as it streams to storage, without copying it
/// (it only observes), and puts the count in a header field in front of the message. Option: <c>field</c>
/// (default X-Body-Stats).
/// </summary>
public sealed class BodyStatsProcessor : IStreamProcessor
{
    private readonly string _field;

    public BodyStatsProcessor(ConfigSection config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Known("field");
        _field = config.String("field") ?? "X-Body-Stats";
        if (_field.Length == 0 || _field.Any(c => c is <= ' ' or > '~' or ':'))
            config.Error("field", $"'{_field}' is not a header field name");
    }

    public string Name => "body_stats";

    public IBodyFilter Begin(BodyContext context, IBlobWriter blob) => new Filter(_field);

    private sealed class Filter(string name) : IBodyFilter
    {
        private long _bytes;
        private long _lines;

        public bool PassesThrough => true;

        public void Observe(ReadOnlySpan<byte> data)
        {
            _bytes += data.Length;
            _lines += data.Count((byte)'\n');
        }

        public SmtpReply? Complete(IBufferWriter<byte> next) => null;

        public string Prefix => string.Create(CultureInfo.InvariantCulture, $"{name}: lines={_lines} bytes={_bytes}\r\n");
    }
}
