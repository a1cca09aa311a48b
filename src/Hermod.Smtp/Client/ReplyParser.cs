using System.Buffers;
using System.Text;
using Hermod.Core.Smtp;
using Hermod.Smtp.Protocol;

namespace Hermod.Smtp.Client;

/// <summary>
/// Parses server replies (RFC 5321 4.2): one or more lines "CODE-text" ending with "CODE text" (or a bare
/// "CODE"), all with the same code. The RFC 3463 enhanced status code is taken from the first line when its class
/// matches the reply's, and removed from every line that repeats it. Lines are joined with '\n' in
/// <see cref="SmtpReply.Text"/>, the shape <see cref="SmtpReply.WriteTo"/> writes back. No I/O.
/// </summary>
public static class ReplyParser
{
    /// <summary>Most octets in one reply line, its line ending included (RFC 5321 asks for 512; servers send more).</summary>
    public const int MaxLineLength = 2048;

    /// <summary>Most lines in one reply.</summary>
    public const int MaxLines = 100;

    /// <summary>
    /// Reads one complete reply. False (and the reader unmoved) when the buffer does not hold all of it yet.
    /// A malformed reply, a line over <see cref="MaxLineLength"/> or a reply over <see cref="MaxLines"/> lines
    /// throws <see cref="InvalidDataException"/>: the peer is out of step and the connection cannot be trusted.
    /// A line may end in CRLF or a bare LF.
    /// </summary>
    public static bool TryParse(ref SequenceReader<byte> reader, out SmtpReply reply)
    {
        reply = null!;
        var r = reader;
        var code = 0;
        var enhanced = EnhancedStatusCode.None;
        string? enhancedText = null; // as the first line wrote it: later lines that repeat it lose it
        string? single = null;
        StringBuilder? text = null;
        Span<byte> head = stackalloc byte[4];
        for (var count = 1; ; count++)
        {
            var status = CommandParser.TryReadLine(ref r, MaxLineLength, out var raw);
            if (status == CommandParser.LineStatus.NeedMore)
                return false;
            if (status == CommandParser.LineStatus.TooLong)
                throw new InvalidDataException($"Reply line longer than {MaxLineLength} octets");

            var headLength = (int)Math.Min(raw.Length, 4);
            raw.Slice(0, headLength).CopyTo(head);
            if (headLength < 3 || !IsCode(head))
                throw new InvalidDataException($"Malformed reply line: \"{Printable(raw)}\"");
            var lineCode = ((head[0] - '0') * 100) + ((head[1] - '0') * 10) + (head[2] - '0');
            if (count == 1)
                code = lineCode;
            else if (lineCode != code)
                throw new InvalidDataException($"Reply code changed from {code} to {lineCode} within one reply");
            var last = headLength == 3 || head[3] == ' ';
            if (!last && head[3] != '-')
                throw new InvalidDataException($"Malformed reply line: \"{Printable(raw)}\"");

            var line = headLength == 3 ? "" : Encoding.UTF8.GetString(raw.Slice(4));
            if (count == 1)
                enhancedText = EnhancedCode(line, code, out enhanced);
            if (enhancedText is not null)
                line = StripEnhanced(line, enhancedText);

            if (last && count == 1)
                single = line;
            else
            {
                text ??= new StringBuilder();
                if (count > 1)
                    text.Append('\n');
                text.Append(line);
            }
            if (last)
                break;
            if (count >= MaxLines)
                throw new InvalidDataException($"Reply longer than {MaxLines} lines");
        }
        reader = r;
        reply = new SmtpReply(code, enhanced, single ?? text!.ToString());
        return true;
    }

    /// <summary>Reply-code = %x32-35 %x30-35 %x30-39 (RFC 5321 4.2).</summary>
    private static bool IsCode(ReadOnlySpan<byte> head) =>
        head[0] is >= (byte)'2' and <= (byte)'5' && head[1] is >= (byte)'0' and <= (byte)'5' && head[2] is >= (byte)'0' and <= (byte)'9';

    /// <summary>
    /// The enhanced status code that opens <paramref name="line"/> (RFC 3463 2, its class matching the reply's) and is
    /// followed by a space or the end, as written; null when the line does not open with one.
    /// </summary>
    private static string? EnhancedCode(string line, int code, out EnhancedStatusCode enhanced)
    {
        var length = line.IndexOf(' ', StringComparison.Ordinal);
        if (length < 0)
            length = line.Length;
        if (EnhancedStatusCode.TryParse(line.AsSpan(0, length), out enhanced) && !enhanced.IsNone && enhanced.Class == code / 100)
            return line[..length];
        enhanced = EnhancedStatusCode.None;
        return null;
    }

    private static string StripEnhanced(string line, string enhanced)
    {
        if (!line.StartsWith(enhanced, StringComparison.Ordinal))
            return line;
        if (line.Length == enhanced.Length)
            return "";
        return line[enhanced.Length] == ' ' ? line[(enhanced.Length + 1)..] : line;
    }

    private static string Printable(ReadOnlySequence<byte> raw)
    {
        var bytes = raw.Slice(0, Math.Min(raw.Length, 64)).ToArray();
        var chars = new char[bytes.Length];
        for (var i = 0; i < bytes.Length; i++)
            chars[i] = bytes[i] is >= 0x20 and < 0x7f ? (char)bytes[i] : '?';
        return new string(chars);
    }
}
