using System.Buffers;
using System.IO.Compression;
using Hermod.Core.Pipeline;
using Hermod.Core.Smtp;
using Hermod.Core.Storage;

namespace Hermod.Policy.Processors;

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
