using System.Text;
using System.Text.RegularExpressions;

namespace Hermod.Mime.Tests.TestKit;

/// <summary>Strict decoders for checking what the encoders wrote (they throw on anything malformed).</summary>
internal static partial class Decode
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    [GeneratedRegex(@"^=\?utf-8\?([QB])\?([^?\s]*)\?=$")]
    private static partial Regex EncodedWord();

    /// <summary>Strict UTF-8: throws on a split or broken sequence.</summary>
    public static string Utf8(byte[] bytes) => StrictUtf8.GetString(bytes);

    /// <summary>The bytes of one encoded word (throws when it is not one).</summary>
    public static byte[] EncodedWordBytes(string word)
    {
        var match = EncodedWord().Match(word);
        if (!match.Success)
            throw new FormatException($"not an encoded word: {word}");
        var payload = match.Groups[2].Value;
        if (match.Groups[1].Value == "B")
            return Convert.FromBase64String(payload);
        var bytes = new List<byte>();
        for (var i = 0; i < payload.Length; i++)
        {
            var c = payload[i];
            if (c == '_')
                bytes.Add((byte)' ');
            else if (c == '=')
            {
                bytes.Add(Convert.FromHexString(payload.AsSpan(i + 1, 2))[0]);
                i += 2;
            }
            else if (c is > ' ' and < '\x7f' and not '?')
                bytes.Add((byte)c);
            else
                throw new FormatException($"bad Q character {c} in {word}");
        }
        return [.. bytes];
    }

    /// <summary>The lines of a header field, without CRLF (the field must end in CRLF and have no bare CR/LF).</summary>
    public static string[] Lines(string field)
    {
        Assert.EndsWith("\r\n", field);
        var lines = field[..^2].Split("\r\n");
        Assert.All(lines, l => Assert.False(l.Contains('\r') || l.Contains('\n'), "bare CR or LF"));
        return lines;
    }

    /// <summary>A field's value, unfolded (RFC 5322 section 2.2.3), without "Name:".</summary>
    public static string Unfold(string field)
    {
        var unfolded = string.Concat(Lines(field));
        return unfolded[(unfolded.IndexOf(':') + 1)..];
    }

    /// <summary>
    /// Decodes an unstructured value the RFC 2047 way: white space between two encoded words is dropped; each word
    /// must be valid UTF-8 on its own (a character is never split between words).
    /// </summary>
    public static string Unstructured(string value)
    {
        var tokens = Regex.Split(value, "( +)");
        var sb = new StringBuilder();
        var previousWasEncoded = false;
        string pendingSpace = "";
        foreach (var token in tokens)
        {
            if (token.Length == 0)
                continue;
            if (token[0] == ' ')
            {
                pendingSpace = token;
                continue;
            }
            var encoded = token.StartsWith("=?", StringComparison.Ordinal);
            if (!(encoded && previousWasEncoded))
                sb.Append(pendingSpace);
            pendingSpace = "";
            sb.Append(encoded ? Utf8(EncodedWordBytes(token)) : token);
            previousWasEncoded = encoded;
        }
        var text = sb.ToString();
        return text.StartsWith(' ') ? text[1..] : text;
    }

    /// <summary>Strict quoted-printable decoding of a body (CRLF line ends; soft breaks removed).</summary>
    public static byte[] QuotedPrintable(string encoded)
    {
        var bytes = new List<byte>();
        var lines = encoded.Split("\r\n");
        for (var l = 0; l < lines.Length; l++)
        {
            var line = lines[l];
            Assert.True(line.Length <= 76, $"QP line over 76: {line}");
            Assert.False(line.EndsWith(' ') || line.EndsWith('\t'), $"trailing white space: [{line}]");
            // An escape ends in a hex digit, so a line ending in '=' ends in a soft line break.
            var soft = line.EndsWith('=');
            var content = soft ? line[..^1] : line;
            for (var i = 0; i < content.Length; i++)
            {
                var c = content[i];
                if (c == '=')
                {
                    Assert.True(i + 2 < content.Length && IsHex(content[i + 1]) && IsHex(content[i + 2]), $"cut or bad escape in [{line}]");
                    bytes.Add(Convert.FromHexString(content.AsSpan(i + 1, 2))[0]);
                    i += 2;
                }
                else
                {
                    Assert.True(c is '\t' or (>= ' ' and <= '~'), $"literal {(int)c} in QP");
                    bytes.Add((byte)c);
                }
            }
            if (!soft && l < lines.Length - 1)
            {
                bytes.Add((byte)'\r');
                bytes.Add((byte)'\n');
            }
        }
        return [.. bytes];
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigitUpper(c);
}
