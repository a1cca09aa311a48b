using System.Buffers;
using System.Text;

namespace Hermod.Mime.Codecs;

/// <summary>
/// Quoted-printable (RFC 2045 section 6.7) of UTF-8 text. Encoded lines are at most 76 characters: longer ones end in a
/// soft line break ('='), which never splits an =XX escape or a character's UTF-8 sequence. '=' is always escaped and
/// white space before a line end is escaped, so it survives transports that strip trailing blanks. A '.' or "From "
/// at the start of an encoded line is escaped too (=2E, =46), for transports that mishandle them.
/// </summary>
internal static class QuotedPrintable
{
    public const int MaxLineLength = 76;

    private static ReadOnlySpan<byte> Hex => "0123456789ABCDEF"u8;

    /// <summary>Encodes a whole text: its line ends become CRLF; no CRLF is written after the last line.</summary>
    public static void Encode(string text, IBufferWriter<byte> output)
    {
        var pos = 0;
        var first = true;
        while (TextLines.Next(text, ref pos, out var line))
        {
            if (!first)
                output.Write("\r\n"u8);
            first = false;
            EncodeLine(line, output);
        }
    }

    /// <summary>The encoded form of a text, as a string (for tests).</summary>
    public static string Encode(string text)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Encode(text, buffer);
        return Encoding.ASCII.GetString(buffer.WrittenSpan);
    }

    /// <summary>Encodes one line (no line end in it), with soft line breaks as needed; writes no CRLF after it.</summary>
    public static void EncodeLine(ReadOnlySpan<char> line, IBufferWriter<byte> output)
    {
        Span<byte> utf8 = stackalloc byte[4];
        Span<byte> unit = stackalloc byte[12];
        var column = 0;
        var pos = 0;
        while (pos < line.Length)
        {
            var next = pos;
            var n = EncodedWords.NextRune(line, ref next, utf8);
            var last = next == line.Length;
            var length = Unit(utf8[..n], last, column == 0 && StartsBadly(line[pos..]), unit);
            if (column + length > MaxLineLength || (column + length == MaxLineLength && !last))
            {
                output.Write("=\r\n"u8);
                column = 0;
                length = Unit(utf8[..n], last, StartsBadly(line[pos..]), unit);
            }
            output.Write(unit[..length]);
            column += length;
            pos = next;
        }
    }

    private static bool StartsBadly(ReadOnlySpan<char> rest) => rest[0] == '.' || rest.StartsWith("From ");

    private static int Unit(ReadOnlySpan<byte> bytes, bool lastInLine, bool escapeFirst, Span<byte> unit)
    {
        var length = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            var b = bytes[i];
            var literal = b switch
            {
                (byte)'=' => false,
                (byte)' ' or (byte)'\t' => !lastInLine,
                >= 33 and <= 126 => !(i == 0 && escapeFirst),
                _ => false,
            };
            if (literal)
            {
                unit[length++] = b;
            }
            else
            {
                unit[length++] = (byte)'=';
                unit[length++] = Hex[b >> 4];
                unit[length++] = Hex[b & 0xF];
            }
        }
        return length;
    }
}
