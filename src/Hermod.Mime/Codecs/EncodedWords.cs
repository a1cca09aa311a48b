using System.Text;

namespace Hermod.Mime.Codecs;

/// <summary>
/// RFC 2047 encoded words in UTF-8: <c>=?utf-8?Q?...?=</c> or <c>=?utf-8?B?...?=</c>, each at most 75 characters,
/// each holding whole characters only (a UTF-8 sequence is never split between two words, so every word decodes on
/// its own). Q uses the restricted set of RFC 2047 section 5 (3), so the words are valid in phrases (display names)
/// as well as in unstructured text.
/// </summary>
public static class EncodedWords
{
    /// <summary>RFC 2047 section 2: an encoded word is at most 75 characters long.</summary>
    public const int MaxLength = 75;

    /// <summary>Length of <c>=?utf-8?Q?</c> plus <c>?=</c>.</summary>
    internal const int Overhead = 12;

    private const string Hex = "0123456789ABCDEF";

    /// <summary>A byte written as itself in Q (a space becomes '_').</summary>
    internal static bool IsQLiteral(byte b) =>
        b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
            or (byte)'!' or (byte)'*' or (byte)'+' or (byte)'-' or (byte)'/' or (byte)' ';

    /// <summary>True when Q is no longer than B for this text (Q is the readable one, so it wins ties).</summary>
    internal static bool PreferQ(ReadOnlySpan<char> text)
    {
        long q = 0, bytes = 0;
        Span<byte> utf8 = stackalloc byte[4];
        for (var pos = 0; pos < text.Length;)
        {
            var n = NextRune(text, ref pos, utf8);
            bytes += n;
            for (var i = 0; i < n; i++)
                q += IsQLiteral(utf8[i]) ? 1 : 3;
        }
        return q <= (bytes + 2) / 3 * 4;
    }

    /// <summary>The length of the one encoded word that would hold all of <paramref name="text"/>.</summary>
    internal static int SingleWordLength(ReadOnlySpan<char> text, bool q)
    {
        long length = 0, bytes = 0;
        Span<byte> utf8 = stackalloc byte[4];
        for (var pos = 0; pos < text.Length;)
        {
            var n = NextRune(text, ref pos, utf8);
            bytes += n;
            if (q)
                length += QLength(utf8[..n]);
        }
        return (int)Math.Min(int.MaxValue, Overhead + (q ? length : (bytes + 2) / 3 * 4));
    }

    /// <summary>The length of the shortest word that can start at <paramref name="text"/>: its first character, encoded.</summary>
    internal static int FirstWordLength(ReadOnlySpan<char> text, bool q)
    {
        Span<byte> utf8 = stackalloc byte[4];
        var pos = 0;
        var n = NextRune(text, ref pos, utf8);
        return Overhead + (q ? QLength(utf8[..n]) : (n + 2) / 3 * 4);
    }

    /// <summary>
    /// Appends one encoded word holding as many whole characters from the start of <paramref name="text"/> as fit in
    /// <paramref name="maxLength"/> (at least one, whatever the limit) and returns how many chars it consumed.
    /// </summary>
    /// <param name="upperCaseCharset">
    /// Name the charset <c>UTF-8</c> rather than <c>utf-8</c>, for a caller whose messages have always spelled it so.
    /// Readers take both alike: charset names are case-insensitive (RFC 2046 section 4.1.2).
    /// </param>
    public static int AppendWord(ReadOnlySpan<char> text, bool q, int maxLength, StringBuilder output, bool upperCaseCharset = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        maxLength = Math.Min(maxLength, MaxLength);
        output.Append(upperCaseCharset ? "=?UTF-8?" : "=?utf-8?").Append(q ? "Q?" : "B?");
        Span<byte> utf8 = stackalloc byte[4];
        Span<byte> pending = stackalloc byte[48];
        var pendingCount = 0;
        var length = Overhead;
        var pos = 0;
        while (pos < text.Length)
        {
            var next = pos;
            var n = NextRune(text, ref next, utf8);
            if (q)
            {
                var cost = QLength(utf8[..n]);
                if (pos > 0 && length + cost > maxLength)
                    break;
                for (var i = 0; i < n; i++)
                    AppendQ(utf8[i], output);
                length += cost;
            }
            else
            {
                var total = (pendingCount + n + 2) / 3 * 4;
                if (pos > 0 && Overhead + total > maxLength)
                    break;
                utf8[..n].CopyTo(pending[pendingCount..]);
                pendingCount += n;
                length = Overhead + total;
            }
            pos = next;
        }
        if (!q)
            output.Append(Convert.ToBase64String(pending[..pendingCount]));
        output.Append("?=");
        return pos;
    }

    private static int QLength(ReadOnlySpan<byte> bytes)
    {
        var length = 0;
        foreach (var b in bytes)
            length += IsQLiteral(b) ? 1 : 3;
        return length;
    }

    private static void AppendQ(byte b, StringBuilder output)
    {
        if (b == ' ')
            output.Append('_');
        else if (IsQLiteral(b))
            output.Append((char)b);
        else
            output.Append('=').Append(Hex[b >> 4]).Append(Hex[b & 0xF]);
    }

    /// <summary>Encodes the next character as UTF-8 (a lone surrogate as U+FFFD) and advances past it.</summary>
    internal static int NextRune(ReadOnlySpan<char> text, ref int pos, Span<byte> utf8)
    {
        _ = Rune.DecodeFromUtf16(text[pos..], out var rune, out var consumed);
        pos += consumed;
        return rune.EncodeToUtf8(utf8);
    }
}
