using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Hermod.Policy.Spf;

/// <summary>
/// The SPF macro language (RFC 7208 section 7): validation and expansion, no I/O. A macro-string is checked once by
/// <see cref="IsValid"/>; <see cref="TryExpand"/> fails on the same syntax errors.
/// </summary>
public static class SpfMacro
{
    private const string Letters = "slodiphcrtv";
    private const string Delimiters = ".-+,/_=";

    /// <summary>True when <paramref name="text"/> is a valid macro-string; in an explanation (exp TXT) spaces and the letters c, r, t are allowed.</summary>
    public static bool IsValid(string text, bool explanation) => Walk(text, explanation, null, out _);

    /// <summary>True when <paramref name="text"/> uses the macro letter (either case), for example 'p' before a PTR lookup.</summary>
    public static bool Uses(string text, char letter)
    {
        for (var i = 0; i + 2 < text.Length; i++)
        {
            if (text[i] != '%')
                continue;
            if (text[i + 1] == '{' && char.ToLowerInvariant(text[i + 2]) == letter)
                return true;
            i++; // skip the character after '%' ("%%{p}" is a literal)
        }
        return false;
    }

    /// <summary>Expands <paramref name="text"/>; false (and the reason) on a syntax error.</summary>
    public static bool TryExpand(string text, SpfMacroContext context, bool explanation, out string expanded, out string? error)
    {
        ArgumentNullException.ThrowIfNull(context);
        var sb = new StringBuilder(text.Length + 32);
        if (!Walk(text, explanation, (sb, context), out error))
        {
            expanded = "";
            return false;
        }
        expanded = sb.ToString();
        return true;
    }

    /// <summary>
    /// Expands a domain-spec and shortens it to 253 characters by dropping labels from the left (section 4.8 and 7.3).
    /// </summary>
    public static bool TryExpandDomain(string domainSpec, SpfMacroContext context, out string domain, out string? error)
    {
        if (!TryExpand(domainSpec, context, explanation: false, out domain, out error))
            return false;
        if (domain.EndsWith('.'))
            domain = domain[..^1];
        while (domain.Length > 253)
        {
            var dot = domain.IndexOf('.');
            domain = dot < 0 ? "" : domain[(dot + 1)..];
        }
        return true;
    }

    private static bool Walk(string text, bool explanation, (StringBuilder Out, SpfMacroContext Context)? expand, out string? error)
    {
        error = null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c != '%')
            {
                if (c is < '!' or > '~' && !(explanation && c == ' '))
                {
                    error = $"character 0x{(int)c:X2} is not allowed in a macro-string";
                    return false;
                }
                expand?.Out.Append(c);
                continue;
            }
            if (i + 1 >= text.Length)
            {
                error = "'%' at the end of a macro-string";
                return false;
            }
            var next = text[++i];
            switch (next)
            {
                case '%':
                    expand?.Out.Append('%');
                    continue;
                case '_':
                    expand?.Out.Append(' ');
                    continue;
                case '-':
                    expand?.Out.Append("%20");
                    continue;
                case '{':
                    break;
                default:
                    error = $"'%{next}' is not a macro";
                    return false;
            }
            var close = text.IndexOf('}', i);
            if (close < 0)
            {
                error = "unterminated macro '%{'";
                return false;
            }
            if (!Macro(text.AsSpan(i + 1, close - i - 1), explanation, expand, out error))
                return false;
            i = close;
        }
        return true;
    }

    private static bool Macro(ReadOnlySpan<char> body, bool explanation, (StringBuilder Out, SpfMacroContext Context)? expand, out string? error)
    {
        error = null;
        if (body.Length == 0 || !Letters.Contains(char.ToLowerInvariant(body[0]), StringComparison.Ordinal))
        {
            error = $"unknown macro letter in '%{{{body}}}'";
            return false;
        }
        var letter = body[0];
        var lower = char.ToLowerInvariant(letter);
        if (!explanation && lower is 'c' or 'r' or 't')
        {
            error = $"macro '%{{{letter}}}' is only allowed in explanations";
            return false;
        }
        var p = 1;
        var digitsStart = p;
        while (p < body.Length && char.IsAsciiDigit(body[p]))
            p++;
        var keep = int.MaxValue;
        if (p > digitsStart)
        {
            var digits = body[digitsStart..p];
            if (!int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out keep))
                keep = int.MaxValue;
            if (keep == 0)
            {
                error = "macro transformer 0 (must be at least 1)";
                return false;
            }
        }
        var reverse = false;
        if (p < body.Length && body[p] is 'r' or 'R')
        {
            reverse = true;
            p++;
        }
        var delimiters = body[p..];
        foreach (var d in delimiters)
        {
            if (!Delimiters.Contains(d, StringComparison.Ordinal))
            {
                error = $"invalid delimiter '{d}' in macro '%{{{body}}}'";
                return false;
            }
        }
        if (expand is not { } e)
            return true;
        var value = Value(lower, e.Context);
        if (p > 1 || delimiters.Length > 0)
            value = Transform(value, keep, reverse, delimiters.Length == 0 ? "." : delimiters.ToString());
        if (char.IsUpper(letter))
            value = UrlEncode(value);
        e.Out.Append(value);
        return true;
    }

    private static string Value(char letter, SpfMacroContext c) => letter switch
    {
        's' => c.Sender,
        'l' => c.LocalPart,
        'o' => c.SenderDomain,
        'd' => c.Domain,
        'i' => DottedIp(c.Ip),
        'p' => c.ValidatedDomain,
        'v' => c.Ip.AddressFamily == AddressFamily.InterNetworkV6 ? "ip6" : "in-addr",
        'h' => c.Helo,
        'c' => c.Ip.ToString(),
        'r' => c.ReceiverDomain,
        't' => c.Now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
        _ => throw new ArgumentOutOfRangeException(nameof(letter)),
    };

    /// <summary>%{i}: dotted decimal for IPv4, dot-separated nibbles for IPv6 (section 7.3).</summary>
    internal static string DottedIp(IPAddress ip)
    {
        if (ip.AddressFamily == AddressFamily.InterNetwork)
            return ip.ToString();
        const string hex = "0123456789abcdef";
        var bytes = ip.GetAddressBytes();
        var sb = new StringBuilder(63);
        foreach (var b in bytes)
        {
            if (sb.Length > 0)
                sb.Append('.');
            sb.Append(hex[b >> 4]).Append('.').Append(hex[b & 0xF]);
        }
        return sb.ToString();
    }

    private static string Transform(string value, int keep, bool reverse, string delimiters)
    {
        var parts = value.Split(delimiters.ToCharArray());
        if (reverse)
            Array.Reverse(parts);
        var start = keep >= parts.Length ? 0 : parts.Length - keep;
        return string.Join('.', parts, start, parts.Length - start);
    }

    /// <summary>Percent-encodes everything but the URI unreserved characters (RFC 3986), UTF-8, uppercase hex.</summary>
    internal static string UrlEncode(string value)
    {
        var sb = new StringBuilder(value.Length * 3);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~')
                sb.Append(c);
            else
                sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }
}
