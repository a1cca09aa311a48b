using System.Buffers;
using System.Buffers.Text;

namespace Hermod.Mime.Codecs;

/// <summary>Base64 body lines of 76 characters (57 bytes each), separated by CRLF (RFC 2045 section 6.8).</summary>
internal static class Base64Lines
{
    public const int LineLength = 76;
    public const int BytesPerLine = 57;

    /// <summary>
    /// Writes <paramref name="data"/> as lines. When <paramref name="continuation"/>, lines were written before, so a
    /// CRLF goes first; <paramref name="data"/> must then follow a multiple of <see cref="BytesPerLine"/> bytes.
    /// No CRLF is written after the last line.
    /// </summary>
    public static void Write(ReadOnlySpan<byte> data, bool continuation, IBufferWriter<byte> output)
    {
        for (var offset = 0; offset < data.Length; offset += BytesPerLine)
        {
            if (continuation || offset > 0)
                output.Write("\r\n"u8);
            var chunk = data.Slice(offset, Math.Min(BytesPerLine, data.Length - offset));
            var span = output.GetSpan(LineLength);
            Base64.EncodeToUtf8(chunk, span, out _, out var written);
            output.Advance(written);
        }
    }
}
