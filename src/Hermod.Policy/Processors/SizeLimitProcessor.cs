using System.Buffers;
using Hermod.Core.Pipeline;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;

namespace Hermod.Policy.Processors;

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
