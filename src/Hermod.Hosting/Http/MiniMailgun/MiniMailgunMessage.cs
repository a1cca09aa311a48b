using System.Text;
using Hermod.Core.Text;

namespace Hermod.Hosting.Http.MiniMailgun;

/// <summary>A message built from a /send request: its bytes and what its envelope must declare.</summary>
/// <param name="Content">The message, CRLF line ends, every line at most 998 octets.</param>
/// <param name="EightBit">Some octet is above 127 (the envelope says BODY=8BITMIME).</param>
/// <param name="SmtpUtf8">An address is not ASCII (the envelope needs SMTPUTF8).</param>
/// <param name="TransferEncoding">The body's Content-Transfer-Encoding: 7bit, 8bit or quoted-printable.</param>
internal sealed record BuiltMessage(byte[] Content, bool EightBit, bool SmtpUtf8, string TransferEncoding);

/// <summary>
/// Builds the text/plain message of a Mini-MailGun /send request (RFC 5322, RFC 2045): From, To (every recipient),
/// Subject (an RFC 2047 encoded word when it is not plain ASCII), Date, Message-ID, MIME headers, the body with CRLF
/// line ends. The body goes as is (7bit or 8bit) unless a line is longer than 998 octets or it holds a NUL: then
/// the whole body is quoted-printable.
/// </summary>
internal static class MiniMailgunMessage
{
    /// <summary>RFC 5322 2.1.1: a line is at most 998 octets without its CRLF.</summary>
    public const int MaxLine = 998;

    /// <summary>RFC 5322 2.1.1: lines should not be longer than 78 characters; headers are folded to that where they can be.</summary>
    private const int FoldAt = 78;

    public static BuiltMessage Build(string sender, IReadOnlyList<string> recipients, string subject, string body, string messageId, DateTimeOffset date)
    {
        var lines = Lines(body);
        var quotedPrintable = lines.Exists(l => Encoding.UTF8.GetByteCount(l) > MaxLine) || body.Contains('\0');
        var bodyEightBit = !quotedPrintable && !Ascii.IsValid(body);
        var transferEncoding = quotedPrintable ? "quoted-printable" : bodyEightBit ? "8bit" : "7bit";
        var smtpUtf8 = !Ascii.IsValid(sender) || recipients.Any(r => !Ascii.IsValid(r));

        var text = new StringBuilder(body.Length + 512);
        text.Append("From: ").Append(sender).Append("\r\n");
        AppendAddressList(text, "To: ", recipients);
        text.Append(SubjectHeader(subject));
        text.Append("Date: ").Append(Rfc5322.Date(date)).Append("\r\n");
        text.Append("Message-ID: <").Append(messageId).Append(">\r\n");
        text.Append("MIME-Version: 1.0\r\n");
        text.Append("Content-Type: text/plain; charset=utf-8\r\n");
        text.Append("Content-Transfer-Encoding: ").Append(transferEncoding).Append("\r\n");
        text.Append("\r\n");
        foreach (var line in lines)
        {
            if (quotedPrintable)
                AppendQuotedPrintable(text, line);
            else
                text.Append(line);
            text.Append("\r\n");
        }
        return new BuiltMessage(Encoding.UTF8.GetBytes(text.ToString()), bodyEightBit || smtpUtf8, smtpUtf8, transferEncoding);
    }

    /// <summary>The body's lines: CRLF, a bare LF and a bare CR all end a line; a last line without an end gets one.</summary>
    internal static List<string> Lines(string body)
    {
        if (body.Length == 0)
            return [];
        var lines = new List<string>(body.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n').Split('\n'));
        if (lines[^1].Length == 0)
            lines.RemoveAt(lines.Count - 1); // the text ended with a line end
        return lines;
    }

    /// <summary>"To: a@x.test, b@y.test": one line while it fits in 78 characters, then folded before an address.</summary>
    private static void AppendAddressList(StringBuilder text, string name, IReadOnlyList<string> addresses)
    {
        text.Append(name);
        var length = name.Length;
        for (var i = 0; i < addresses.Count; i++)
        {
            var item = i < addresses.Count - 1 ? addresses[i] + "," : addresses[i];
            if (i > 0)
            {
                if (length + 1 + item.Length > FoldAt)
                {
                    text.Append("\r\n");
                    length = 0;
                }
                text.Append(' ');
                length++;
            }
            text.Append(item);
            length += item.Length;
        }
        text.Append("\r\n");
    }

    /// <summary>
    /// Printable ASCII goes as is, folded at spaces; anything else (non-ASCII, control characters, text that looks like
    /// an encoded word, a line that cannot be folded under 998 octets) becomes RFC 2047 B encoded words.
    /// </summary>
    internal static string SubjectHeader(string subject)
    {
        const string Name = "Subject: ";
        var plain = !subject.Contains("=?", StringComparison.Ordinal);
        foreach (var c in subject)
            plain &= c is (>= ' ' and <= '~') or '\t';
        if (plain)
        {
            var folded = Fold(Name, subject);
            if (folded.Split("\r\n").All(l => l.Length <= MaxLine))
                return folded + "\r\n";
        }
        return Name + EncodedWords(subject, Name.Length) + "\r\n";
    }

    /// <summary>Folds before whitespace that is followed by text, so unfolding (removing the CRLFs) gives the value back.</summary>
    private static string Fold(string name, string value)
    {
        var text = new StringBuilder(name.Length + value.Length + 8).Append(name);
        var length = name.Length;
        var start = 0;
        while (start < value.Length)
        {
            // a token: leading whitespace, then up to the next whitespace
            var end = start;
            while (end < value.Length && value[end] is ' ' or '\t')
                end++;
            var hasText = end < value.Length;
            while (end < value.Length && value[end] is not (' ' or '\t'))
                end++;
            var token = value.AsSpan(start, end - start);
            if (start > 0 && hasText && token[0] is (' ' or '\t') && length + token.Length > FoldAt)
            {
                text.Append("\r\n");
                length = 0;
            }
            text.Append(token);
            length += token.Length;
            start = end;
        }
        return text.ToString();
    }

    /// <summary>
    /// RFC 2047 "=?UTF-8?B?...?=" words (Hermod.Mime's, always B, the charset named in capitals as these messages
    /// always have), separated by folding whitespace (which decoders drop between encoded words), each on its own line
    /// of at most 78 characters and never splitting a character. <paramref name="firstLineUsed"/>: characters before
    /// the first word ("Subject: ").
    /// </summary>
    internal static string EncodedWords(string value, int firstLineUsed = 0)
    {
        var words = new StringBuilder();
        var rest = value.AsSpan();
        var room = FoldAt - firstLineUsed;
        while (!rest.IsEmpty)
        {
            if (words.Length > 0)
                words.Append("\r\n ");
            rest = rest[Mime.Codecs.EncodedWords.AppendWord(rest, q: false, room, words, upperCaseCharset: true)..];
            room = FoldAt - 1; // after the continuation line's leading space
        }
        return words.ToString();
    }

    /// <summary>One line in quoted-printable (RFC 2045 6.7): output lines of at most 76 characters with soft breaks.</summary>
    internal static void AppendQuotedPrintable(StringBuilder text, string line)
    {
        const int MaxEncoded = 76;
        var octets = Encoding.UTF8.GetBytes(line);
        var length = 0;
        for (var i = 0; i < octets.Length; i++)
        {
            var b = octets[i];
            var last = i == octets.Length - 1;
            var literal = (b is >= 33 and <= 126 && b != '=') || (b is (byte)' ' or (byte)'\t' && !last); // whitespace before a line end is encoded
            var width = literal ? 1 : 3;
            // room for this token, and for the "=" of a soft break unless this is the end of the line
            if (length + width > (last ? MaxEncoded : MaxEncoded - 1))
            {
                text.Append("=\r\n");
                length = 0;
            }
            if (literal)
                text.Append((char)b);
            else
                text.Append('=').Append(Convert.ToHexString([b]));
            length += width;
        }
    }
}
