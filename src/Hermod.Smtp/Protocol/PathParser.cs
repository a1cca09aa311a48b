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

    /// <summary>Splits "FROM:&lt;path&gt; K=V K2" into the path text (without brackets) and parameters.</summary>
    public static bool TrySplit(string argument, string keyword, out string path, out List<KeyValuePair<string, string?>> parameters, out string error)
    {
        path = "";
        parameters = [];
        error = $"Syntax: {(keyword == "FROM:" ? "MAIL FROM:<address>" : "RCPT TO:<address>")} [parameters]";
        if (!argument.StartsWith(keyword, StringComparison.OrdinalIgnoreCase))
            return false;
        var rest = argument.AsSpan(keyword.Length).TrimStart(' ');
        if (rest.IsEmpty || rest[0] != '<')
            return false;
        var close = FindClose(rest);
        if (close < 0)
            return false;
        path = rest[1..close].ToString();
        foreach (var part in rest[(close + 1)..].ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? part : part[..eq];
            if (key.Length == 0 || !key.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                error = $"Bad parameter syntax: {Sanitize(part)}";
                return false;
            }
            parameters.Add(new(key.ToUpperInvariant(), eq < 0 ? null : part[(eq + 1)..]));
        }
        if (rest.Length > close + 1 && rest[close + 1] != ' ')
            return false;
        return true;
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
    public static bool TryDecodeXtext(string xtext, out string value)
    {
        var sb = new StringBuilder(xtext.Length);
        value = "";
        for (var i = 0; i < xtext.Length; i++)
        {
            var c = xtext[i];
            if (c == '+')
            {
                if (i + 2 >= xtext.Length || !IsUpperHex(xtext[i + 1]) || !IsUpperHex(xtext[i + 2]))
                    return false;
                var b = byte.Parse(xtext.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                sb.Append((char)b);
                i += 2;
            }
            else if (c is < '!' or > '~' or '=')
                return false;
            else
                sb.Append(c);
        }
        value = sb.ToString();
        return true;
    }

    private static bool IsUpperHex(char c) => char.IsAsciiDigit(c) || c is >= 'A' and <= 'F';

    /// <summary>NOTIFY=NEVER or a comma list of SUCCESS, FAILURE, DELAY (RFC 3461 4.1).</summary>
    public static bool TryParseNotify(string value, out DsnNotify notify)
    {
        notify = DsnNotify.Default;
        foreach (var item in value.Split(','))
        {
            var flag = item.ToUpperInvariant() switch
            {
                "NEVER" => DsnNotify.Never,
                "SUCCESS" => DsnNotify.Success,
                "FAILURE" => DsnNotify.Failure,
                "DELAY" => DsnNotify.Delay,
                _ => DsnNotify.Default,
            };
            if (flag == DsnNotify.Default || (notify & flag) != 0)
                return false;
            notify |= flag;
        }
        return notify == DsnNotify.Never || (notify & DsnNotify.Never) == 0;
    }

    /// <summary>ORCPT=addr-type;xtext — returns "addr-type;decoded".</summary>
    public static bool TryParseOrcpt(string value, out string orcpt)
    {
        orcpt = "";
        var semi = value.IndexOf(';', StringComparison.Ordinal);
        if (semi <= 0 || !value[..semi].All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            return false;
        if (!TryDecodeXtext(value[(semi + 1)..], out var address) || address.Length == 0 || address.Length > 500)
            return false;
        orcpt = value[..semi] + ";" + address;
        return true;
    }

    /// <summary>Client text echoed in a reply: printable ASCII only, bounded.</summary>
    public static string Sanitize(string s)
    {
        var chars = s.Take(64).Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray();
        return new string(chars);
    }
}
