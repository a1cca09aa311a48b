using System.Text;
using Hermod.Mime.Syntax;

namespace Hermod.Mime.Codecs;

/// <summary>
/// Header parameters (RFC 2045 section 5.1, RFC 2231): <c>name=token</c>, <c>name="quoted"</c>, or for text that is not
/// ASCII (or too long for a line) <c>name*=utf-8''percent-encoded</c>, split into continuations
/// <c>name*0*=...; name*1*=...</c> so that every parameter fits a 78-character line. A continuation never splits a
/// %XX triple or a character's UTF-8 sequence.
/// </summary>
internal static class Rfc2231
{
    /// <summary>The longest parameter text we put on one line: 78 minus the leading space and the trailing ';'.</summary>
    public const int MaxParameterLength = 76;

    /// <summary>RFC 5987 attr-char: written as itself in an extended value.</summary>
    public static bool IsAttrChar(byte b) =>
        b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
            or (byte)'!' or (byte)'#' or (byte)'$' or (byte)'&' or (byte)'+' or (byte)'-' or (byte)'.' or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';

    /// <summary>A plain parameter: the value as a token, or quoted (the value must be printable ASCII).</summary>
    public static string Plain(string name, string value) => name + "=" + (MediaType.IsToken(value) ? value : Quote(value));

    /// <summary>The parameter(s) for a value: plain when it is printable ASCII and fits a line, else RFC 2231 encoded.</summary>
    public static IReadOnlyList<string> Parameters(string name, string value)
    {
        if (IsPrintableAscii(value))
        {
            var plain = Plain(name, value);
            if (plain.Length <= MaxParameterLength)
                return [plain];
        }
        var single = name + "*=utf-8''" + PercentEncode(value);
        if (single.Length <= MaxParameterLength)
            return [single];
        var parameters = new List<string>();
        var sb = new StringBuilder();
        Span<byte> utf8 = stackalloc byte[4];
        var pos = 0;
        for (var index = 0; pos < value.Length; index++)
        {
            sb.Clear().Append(name).Append('*').Append(index).Append("*=");
            if (index == 0)
                sb.Append("utf-8''");
            var start = sb.Length;
            while (pos < value.Length)
            {
                var next = pos;
                var n = EncodedWords.NextRune(value, ref next, utf8);
                var cost = 0;
                for (var i = 0; i < n; i++)
                    cost += IsAttrChar(utf8[i]) ? 1 : 3;
                if (sb.Length > start && sb.Length + cost > MaxParameterLength)
                    break;
                AppendPercent(utf8[..n], sb);
                pos = next;
            }
            parameters.Add(sb.ToString());
        }
        return parameters;
    }

    /// <summary>
    /// The plain <c>name="..."</c> parameter for readers that know no RFC 2231: the value in ASCII, shortened (the
    /// extension kept) so that the parameter fits a line of its own.
    /// </summary>
    public static string PlainFallback(string name, string value)
    {
        var ascii = AsciiFallback(value);
        var parameter = Plain(name, ascii);
        if (parameter.Length <= MaxParameterLength)
            return parameter;
        var dot = ascii.LastIndexOf('.');
        var extension = dot > 0 && ascii.Length - dot <= 10 ? ascii[dot..] : "";
        var stem = ascii[..^extension.Length];
        // Quoting may add a backslash per character; shorten until it fits.
        for (var keep = MaxParameterLength - name.Length - 3 - extension.Length; keep > 0; keep--)
        {
            parameter = Plain(name, stem[..Math.Min(keep, stem.Length)].TrimEnd() + extension);
            if (parameter.Length <= MaxParameterLength)
                return parameter;
        }
        return Plain(name, extension.Length > 0 ? extension : "_");
    }

    /// <summary>
    /// An ASCII stand-in for a file name, for readers that know no RFC 2231: each run of other characters becomes one
    /// '_' ("Grüße.txt" → "Gr_e.txt").
    /// </summary>
    public static string AsciiFallback(string value)
    {
        var sb = new StringBuilder(value.Length);
        foreach (var rune in value.EnumerateRunes())
        {
            if (rune.Value is >= ' ' and <= '~')
                sb.Append((char)rune.Value);
            else if (sb.Length == 0 || sb[^1] != '_')
                sb.Append('_');
        }
        return sb.ToString();
    }

    public static string Quote(string value)
    {
        var sb = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            if (c is '"' or '\\')
                sb.Append('\\');
            sb.Append(c);
        }
        return sb.Append('"').ToString();
    }

    public static bool IsPrintableAscii(ReadOnlySpan<char> value)
    {
        foreach (var c in value)
        {
            if (c is < ' ' or > '~')
                return false;
        }
        return true;
    }

    public static string PercentEncode(string value)
    {
        var sb = new StringBuilder(value.Length * 3);
        AppendPercent(Encoding.UTF8.GetBytes(value), sb);
        return sb.ToString();
    }

    private static void AppendPercent(ReadOnlySpan<byte> bytes, StringBuilder sb)
    {
        const string hex = "0123456789ABCDEF";
        foreach (var b in bytes)
        {
            if (IsAttrChar(b))
                sb.Append((char)b);
            else
                sb.Append('%').Append(hex[b >> 4]).Append(hex[b & 0xF]);
        }
    }
}
