using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Hermod.Mime.Syntax;

/// <summary>Syntax checks for addresses, display names, message ids and header text (RFC 5321, 5322, 6531).</summary>
internal static class AddressSyntax
{
    private const int MaxLocalPartOctets = 64;
    private const int MaxDomainOctets = 253;
    private const int MaxLabelOctets = 63;

    private static readonly IdnMapping Idn = new() { UseStd3AsciiRules = true };

    /// <summary>RFC 5322 atext.</summary>
    public static bool IsAtext(char c) =>
        c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9')
            or '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '/' or '=' or '?' or '^' or '_' or '`' or '{' or '|' or '}' or '~';

    /// <summary>A non-ASCII character allowed in RFC 6531 addresses and RFC 6532 text: not a control, not white space.</summary>
    private static bool IsUtf8NonAscii(char c) => c >= 0x80 && !char.IsControl(c) && !char.IsWhiteSpace(c);

    public static bool IsValidAddress(string address)
    {
        if (HasLoneSurrogate(address))
            return false;
        var at = address.LastIndexOf('@');
        if (at <= 0 || at == address.Length - 1)
            return false;
        return IsValidLocalPart(address.AsSpan(0, at)) && IsValidDomain(address.AsSpan(at + 1));
    }

    private static bool IsValidLocalPart(ReadOnlySpan<char> local)
    {
        if (Encoding.UTF8.GetByteCount(local) > MaxLocalPartOctets)
            return false;
        return local[0] == '"' ? IsQuotedLocalPart(local) : IsDotAtom(local, utf8: true);
    }

    /// <summary>RFC 5322 dot-atom-text (with RFC 6531 UTF-8 when <paramref name="utf8"/>).</summary>
    public static bool IsDotAtom(ReadOnlySpan<char> s, bool utf8)
    {
        if (s.IsEmpty || s[0] == '.' || s[^1] == '.')
            return false;
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            if (c == '.')
            {
                if (s[i - 1] == '.')
                    return false;
            }
            else if (!IsAtext(c) && !(utf8 && IsUtf8NonAscii(c)))
                return false;
        }
        return true;
    }

    /// <summary>RFC 5321 Quoted-string: printable ASCII and space, backslash pairs, UTF-8 (RFC 6531).</summary>
    private static bool IsQuotedLocalPart(ReadOnlySpan<char> s)
    {
        if (s.Length < 3 || s[^1] != '"')
            return false;
        for (var i = 1; i < s.Length - 1; i++)
        {
            var c = s[i];
            if (c == '\\')
            {
                if (++i == s.Length - 1 || s[i] is < ' ' or > '~')
                    return false;
            }
            else if (c == '"' || (c < 0x80 && (c < ' ' || c > '~')) || (c >= 0x80 && !IsUtf8NonAscii(c)))
                return false;
        }
        return true;
    }

    private static bool IsValidDomain(ReadOnlySpan<char> domain)
    {
        if (domain[0] == '[')
            return IsAddressLiteral(domain);
        if (Encoding.UTF8.GetByteCount(domain) > MaxDomainOctets || domain[0] == '.' || domain[^1] == '.')
            return false;
        var ascii = true;
        foreach (var range in domain.Split('.'))
        {
            var label = domain[range];
            if (label.IsEmpty || Encoding.UTF8.GetByteCount(label) > MaxLabelOctets || label[0] == '-' || label[^1] == '-')
                return false;
            foreach (var c in label)
            {
                if (c >= 0x80)
                {
                    if (!IsUtf8NonAscii(c))
                        return false;
                    ascii = false;
                }
                else if (!char.IsAsciiLetterOrDigit(c) && c != '-')
                    return false;
            }
        }
        if (ascii)
            return true;
        try
        {
            // A U-label must map to a valid A-label (IDNA), so that the domain can be sent without SMTPUTF8 too.
            return Idn.GetAscii(domain.ToString()).Length <= MaxDomainOctets;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static bool IsAddressLiteral(ReadOnlySpan<char> domain)
    {
        if (domain.Length < 3 || domain[^1] != ']')
            return false;
        var inner = domain[1..^1];
        if (inner.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase))
            return IPAddress.TryParse(inner[5..], out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6 && !inner.Contains('%');
        var dots = inner.Count('.');
        return dots == 3 && IPAddress.TryParse(inner, out var v4) && v4.AddressFamily == AddressFamily.InterNetwork;
    }

    /// <summary>A display name: any Unicode text without control characters (tabs included) and without lone surrogates.</summary>
    public static bool IsValidDisplayName(string name) => !name.Contains('\t') && IsValidHeaderText(name);

    /// <summary>Text for a header field: no control characters except tab (so no CR / LF), no lone surrogates.</summary>
    public static bool IsValidHeaderText(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (char.IsControl(c) && c != '\t')
                return false;
        }
        return !HasLoneSurrogate(text);
    }

    /// <summary>True when a string is not valid UTF-16 (and so has no UTF-8 form).</summary>
    public static bool HasLoneSurrogate(ReadOnlySpan<char> text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                i++;
            else if (char.IsSurrogate(c))
                return true;
        }
        return false;
    }

    /// <summary>
    /// A message or content id without angle brackets: <c>id-left@id-right</c> (RFC 5322 msg-id, ASCII dot-atom-text,
    /// or a domain literal on the right). With <paramref name="requireAt"/> false a bare dot-atom is accepted too, as
    /// mail programs write Content-IDs such as <c>image001.png</c>.
    /// </summary>
    public static bool IsValidId(ReadOnlySpan<char> id, bool requireAt)
    {
        var at = id.IndexOf('@');
        if (at < 0)
            return !requireAt && IsDotAtom(id, utf8: false);
        var right = id[(at + 1)..];
        if (right.Length >= 2 && right[0] == '[' && right[^1] == ']')
        {
            foreach (var c in right[1..^1])
            {
                if (c is < '!' or > '~' or '[' or ']' or '\\')
                    return false;
            }
            return IsDotAtom(id[..at], utf8: false);
        }
        return IsDotAtom(id[..at], utf8: false) && IsDotAtom(right, utf8: false);
    }

    /// <summary>Strips one pair of angle brackets, if present.</summary>
    public static string StripAngles(string id) =>
        id.Length >= 2 && id[0] == '<' && id[^1] == '>' ? id[1..^1] : id;
}
