using System.Buffers;
using System.Globalization;
using System.Text;
using Hermod.Core.Storage;

namespace Hermod.Smtp.Protocol;

/// <summary>MAIL FROM / RCPT TO arguments: a reverse- or forward-path (RFC 5321 4.1.2, RFC 6531) and ESMTP parameters.</summary>
public static class PathParser
{
    public const int MaxLocalPart = 64;
    public const int MaxDomain = 255;
    public const int MaxPath = 256;

    /// <summary>What an esmtp-keyword (RFC 5321 4.1.2) and an addr-type (RFC 3461 4.2) are made of.</summary>
    internal static readonly SearchValues<char> LettersDigitsHyphen = SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-");

    /// <summary>
    /// Splits "FROM:&lt;path&gt; K=V K2" into the path text (without brackets) and the parameters' text, every
    /// keyword checked for syntax (<see cref="EsmtpParameter.IsWellFormed"/>); <see cref="MailParameters"/> and
    /// <see cref="RcptParameters"/> read the parameters.
    /// </summary>
    public static bool TrySplit(string argument, string keyword, out string path, out ReadOnlySpan<char> parameters, out string error)
    {
        path = "";
        parameters = default;
        error = "";
        if (!argument.StartsWith(keyword, StringComparison.OrdinalIgnoreCase))
            return Malformed(keyword, out error);
        var rest = argument.AsSpan(keyword.Length).TrimStart(' ');
        if (rest.IsEmpty || rest[0] != '<')
            return Malformed(keyword, out error);
        var close = FindClose(rest);
        if (close < 0)
            return Malformed(keyword, out error);
        var after = rest[(close + 1)..];
        foreach (var parameter in new EsmtpParameters(after))
            if (!parameter.IsWellFormed)
            {
                error = $"Bad parameter syntax: {Sanitize(parameter.Text.ToString())}";
                return false;
            }
        if (!after.IsEmpty && after[0] != ' ')
            return Malformed(keyword, out error);
        path = rest[1..close].ToString();
        parameters = after;
        return true;
    }

    private static bool Malformed(string keyword, out string error)
    {
        error = keyword == "FROM:" ? "Syntax: MAIL FROM:<address> [parameters]" : "Syntax: RCPT TO:<address> [parameters]";
        return false;
    }

    private static int FindClose(ReadOnlySpan<char> s)
    {
        var quoted = false;
        for (var i = 1; i < s.Length; i++)
        {
            if (quoted && s[i] == '\\')
                i++;
            else if (s[i] == '"')
                quoted = !quoted;
            else if (!quoted && s[i] == '>')
                return i;
        }
        return -1;
    }

    /// <summary>
    /// Validates a mailbox (local@domain); strips an obsolete source route. Empty input (the null path) is not a
    /// mailbox: callers accept "&lt;&gt;" themselves where it is allowed.
    /// </summary>
    public static bool TryParseMailbox(string path, out string mailbox, out string error)
    {
        mailbox = path;
        error = "Bad address syntax";
        if (path.StartsWith('@')) // A-d-l ":" Mailbox, obsolete: drop the route
        {
            var colon = path.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
                return false;
            mailbox = path = path[(colon + 1)..];
        }
        if (Encoding.UTF8.GetByteCount(path) + "<>".Length > MaxPath) // RFC 5321 4.5.3.1.3: octets, brackets included
        {
            error = "Address too long";
            return false;
        }
        var at = path.LastIndexOf('@');
        if (at <= 0 || at == path.Length - 1)
            return false;
        var local = path[..at];
        var domain = path[(at + 1)..];
        if (Encoding.UTF8.GetByteCount(local) > MaxLocalPart || Encoding.UTF8.GetByteCount(domain) > MaxDomain)
        {
            error = "Address too long";
            return false;
        }
        return IsLocalPart(local) && IsDomain(domain);
    }

    private static bool IsAtext(char c) =>
        char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-/=?^_`{|}~".Contains(c) || (c > 127 && c != '\uFFFD' && !char.IsControl(c) && !char.IsWhiteSpace(c));

    private static bool IsLocalPart(string local)
    {
        if (local.StartsWith('"'))
        {
            if (local.Length < 2 || !local.EndsWith('"'))
                return false;
            for (var i = 1; i < local.Length - 1; i++)
            {
                var c = local[i];
                if (c == '\\')
                {
                    if (++i >= local.Length - 1 || local[i] < 32 || local[i] > 126)
                        return false;
                }
                else if (c == '"' || (c < 32) || c == 127 || c == '\uFFFD')
                    return false;
            }
            return true;
        }
        foreach (var atom in local.Split('.'))
            if (atom.Length == 0 || !atom.All(IsAtext))
                return false;
        return true;
    }

    public static bool IsDomain(string domain)
    {
        if (domain.StartsWith('['))
            return domain.EndsWith(']') && IsAddressLiteral(domain[1..^1]);
        foreach (var label in domain.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
                return false;
            foreach (var c in label)
                if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || (c > 127 && char.IsLetterOrDigit(c))))
                    return false;
        }
        return true;
    }

    /// <summary>
    /// RFC 5321 4.1.3 address literals, checked by their grammar before <see cref="System.Net.IPAddress"/> parses
    /// them: it also takes octal and hex IPv4 groups ("010" is 8) and IPv6 zone ids, which the RFC does not.
    /// </summary>
    private static bool IsAddressLiteral(string literal) =>
        literal.StartsWith("IPv6:", StringComparison.OrdinalIgnoreCase)
            ? literal[5..].All(c => char.IsAsciiHexDigit(c) || c is ':' or '.')
                && System.Net.IPAddress.TryParse(literal[5..], out var v6) && v6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            : IsIPv4Literal(literal);

    /// <summary>Four decimal Snum groups 0..255; a zero-padded group ("010") is refused as ambiguous.</summary>
    private static bool IsIPv4Literal(string literal)
    {
        var groups = literal.Split('.');
        if (groups.Length != 4)
            return false;
        foreach (var snum in groups)
            if (snum.Length is 0 or > 3 || (snum.Length > 1 && snum[0] == '0')
                || !int.TryParse(snum, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value > 255)
                return false;
        return true;
    }

    public static bool IsAscii(string s) => Ascii.IsValid(s);

    /// <summary>RFC 3461 xtext: "+XX" hex escapes for '+', '=' and characters outside 33..126.</summary>
    public static bool TryDecodeXtext(ReadOnlySpan<char> xtext, out string value)
    {
        value = "";
        Span<char> decoded = xtext.Length <= 256 ? stackalloc char[xtext.Length] : new char[xtext.Length];
        var length = 0;
        for (var i = 0; i < xtext.Length; i++)
        {
            var c = xtext[i];
            if (c == '+')
            {
                if (i + 2 >= xtext.Length || !IsUpperHex(xtext[i + 1]) || !IsUpperHex(xtext[i + 2]))
                    return false;
                c = (char)((HexValue(xtext[i + 1]) << 4) | HexValue(xtext[i + 2]));
                i += 2;
            }
            else if (c is < '!' or > '~' or '=')
                return false;
            decoded[length++] = c;
        }
        value = new string(decoded[..length]);
        return true;
    }

    private static bool IsUpperHex(char c) => char.IsAsciiDigit(c) || c is >= 'A' and <= 'F';

    private static int HexValue(char c) => c <= '9' ? c - '0' : c - 'A' + 10;

    /// <summary>NOTIFY=NEVER or a comma list of SUCCESS, FAILURE, DELAY (RFC 3461 4.1).</summary>
    public static bool TryParseNotify(ReadOnlySpan<char> value, out DsnNotify notify)
    {
        notify = DsnNotify.Default;
        foreach (var range in value.Split(','))
        {
            var item = value[range];
            var flag = item.Equals("NEVER", StringComparison.OrdinalIgnoreCase) ? DsnNotify.Never
                : item.Equals("SUCCESS", StringComparison.OrdinalIgnoreCase) ? DsnNotify.Success
                : item.Equals("FAILURE", StringComparison.OrdinalIgnoreCase) ? DsnNotify.Failure
                : item.Equals("DELAY", StringComparison.OrdinalIgnoreCase) ? DsnNotify.Delay
                : DsnNotify.Default;
            if (flag == DsnNotify.Default || (notify & flag) != 0)
                return false;
            notify |= flag;
        }
        return notify == DsnNotify.Never || (notify & DsnNotify.Never) == 0;
    }

    /// <summary>ORCPT=addr-type;xtext — returns "addr-type;decoded".</summary>
    public static bool TryParseOrcpt(ReadOnlySpan<char> value, out string orcpt)
    {
        orcpt = "";
        var semi = value.IndexOf(';');
        if (semi <= 0 || value[..semi].ContainsAnyExcept(LettersDigitsHyphen))
            return false;
        if (!TryDecodeXtext(value[(semi + 1)..], out var address) || address.Length == 0 || address.Length > 500)
            return false;
        orcpt = string.Concat(value[..(semi + 1)], address);
        return true;
    }

    /// <summary>Client text echoed in a reply: printable ASCII only, bounded.</summary>
    public static string Sanitize(string s)
    {
        var chars = s.Take(64).Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray();
        return new string(chars);
    }
}
