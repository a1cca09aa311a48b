using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Hermod.Policy.Spf;

/// <summary>A parsed "v=spf1" record (RFC 7208 section 4.5, 4.6, 12). Parsing does no I/O.</summary>
public sealed record SpfRecord(
    IReadOnlyList<SpfMechanism> Mechanisms,
    string? Redirect,
    string? Explanation,
    IReadOnlyList<SpfModifier> OtherModifiers)
{
    /// <summary>True when a TXT string is an SPF record: "v=spf1" alone or followed by a space (section 4.5).</summary>
    public static bool IsSpfRecord(string text) =>
        text.StartsWith("v=spf1", StringComparison.OrdinalIgnoreCase) && (text.Length == 6 || text[6] == ' ');

    /// <summary>Parses a record; false and the reason on any syntax error (which makes check_host() a PermError).</summary>
    public static bool TryParse(string text, out SpfRecord record, out string? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        record = new SpfRecord([], null, null, []);
        if (!IsSpfRecord(text))
        {
            error = "not an SPF record (no \"v=spf1\")";
            return false;
        }
        var mechanisms = new List<SpfMechanism>();
        var modifiers = new List<SpfModifier>();
        string? redirect = null, explanation = null;
        foreach (var term in text[6..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (TryModifier(term, out var name, out var value))
            {
                if (name.Equals("redirect", StringComparison.OrdinalIgnoreCase) || name.Equals("exp", StringComparison.OrdinalIgnoreCase))
                {
                    var isRedirect = name.Length == 8;
                    if ((isRedirect ? redirect : explanation) is not null)
                    {
                        error = $"more than one {name.ToLowerInvariant()}= modifier";
                        return false;
                    }
                    if (!IsDomainSpec(value, out error))
                    {
                        error = $"{term}: {error}";
                        return false;
                    }
                    if (isRedirect)
                        redirect = value;
                    else
                        explanation = value;
                    continue;
                }
                if (!SpfMacro.IsValid(value, explanation: true))
                {
                    error = $"{term}: invalid macro-string";
                    return false;
                }
                modifiers.Add(new SpfModifier(name, value));
                continue;
            }
            if (!TryMechanism(term, out var mechanism, out error))
                return false;
            mechanisms.Add(mechanism);
        }
        record = new SpfRecord(mechanisms, redirect, explanation, modifiers);
        error = null;
        return true;
    }

    private static bool TryModifier(string term, out string name, out string value)
    {
        name = value = "";
        if (term.Length == 0 || !char.IsAsciiLetter(term[0]))
            return false;
        var i = 1;
        while (i < term.Length && (char.IsAsciiLetterOrDigit(term[i]) || term[i] is '-' or '_' or '.'))
            i++;
        if (i >= term.Length || term[i] != '=')
            return false;
        name = term[..i];
        value = term[(i + 1)..];
        return true;
    }

    private static bool TryMechanism(string term, out SpfMechanism mechanism, out string? error)
    {
        mechanism = null!;
        var qualifier = SpfQualifier.Pass;
        var p = 0;
        switch (term[0])
        {
            case '+': p = 1; break;
            case '-': qualifier = SpfQualifier.Fail; p = 1; break;
            case '~': qualifier = SpfQualifier.SoftFail; p = 1; break;
            case '?': qualifier = SpfQualifier.Neutral; p = 1; break;
        }
        var nameStart = p;
        while (p < term.Length && char.IsAsciiLetterOrDigit(term[p]))
            p++;
        var name = term[nameStart..p].ToLowerInvariant();
        var rest = term[p..];
        SpfMechanismKind kind;
        switch (name)
        {
            case "all": kind = SpfMechanismKind.All; break;
            case "include": kind = SpfMechanismKind.Include; break;
            case "a": kind = SpfMechanismKind.A; break;
            case "mx": kind = SpfMechanismKind.Mx; break;
            case "ptr": kind = SpfMechanismKind.Ptr; break;
            case "ip4": kind = SpfMechanismKind.Ip4; break;
            case "ip6": kind = SpfMechanismKind.Ip6; break;
            case "exists": kind = SpfMechanismKind.Exists; break;
            default:
                error = $"unknown mechanism '{term}'";
                return false;
        }
        error = null;
        string? domain = null;
        IPAddress? network = null;
        int v4 = 32, v6 = 128;
        switch (kind)
        {
            case SpfMechanismKind.All:
                if (rest.Length != 0)
                    error = $"'{term}': 'all' takes no argument";
                break;
            case SpfMechanismKind.Include:
            case SpfMechanismKind.Exists:
                if (!rest.StartsWith(':'))
                    error = $"'{term}': {name} needs ':domain'";
                else if (!IsDomainSpec(domain = rest[1..], out var e))
                    error = $"'{term}': {e}";
                break;
            case SpfMechanismKind.Ptr:
                if (rest.Length > 0 && (!rest.StartsWith(':') || !IsDomainSpec(domain = rest[1..], out _)))
                    error = $"'{term}': invalid domain-spec";
                break;
            case SpfMechanismKind.A:
            case SpfMechanismKind.Mx:
                if (!TryCidrSuffix(ref rest, "//", 128, ref v6) || !TryCidrSuffix(ref rest, "/", 32, ref v4))
                    error = $"'{term}': invalid CIDR length";
                else if (rest.Length > 0 && (!rest.StartsWith(':') || !IsDomainSpec(domain = rest[1..], out _)))
                    error = $"'{term}': invalid domain-spec";
                break;
            case SpfMechanismKind.Ip4:
                if (!rest.StartsWith(':') || !TryCidrSuffix(ref rest, "/", 32, ref v4) || !TryIp4(rest[1..], out network))
                    error = $"'{term}': invalid ip4 network";
                break;
            case SpfMechanismKind.Ip6:
                if (!rest.StartsWith(':') || !TryCidrSuffix(ref rest, "/", 128, ref v6) || !TryIp6(rest[1..], out network))
                    error = $"'{term}': invalid ip6 network";
                break;
        }
        if (error is not null)
            return false;
        mechanism = new SpfMechanism(qualifier, kind, domain, network, v4, v6, term);
        return true;
    }

    /// <summary>Strips "/N" (or "//N") from the end when it is there; false when it is there but out of range or has a leading zero.</summary>
    private static bool TryCidrSuffix(ref string rest, string marker, int max, ref int prefix)
    {
        var at = rest.LastIndexOf('/');
        if (at < 0)
            return true;
        var digits = rest[(at + 1)..];
        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit))
            return !rest.EndsWith('/'); // "/" at the end: syntax error; not digits: part of a domain-spec
        var start = at + 1 - marker.Length;
        if (start < 0 || string.CompareOrdinal(rest, start, marker, 0, marker.Length) != 0)
            return true;
        if (marker == "/" && start > 0 && rest[start - 1] == '/')
            return true; // "//N" seen while looking for "/N": not ours
        if (digits.Length > 1 && digits[0] == '0')
            return false;
        if (digits.Length > 3 || int.Parse(digits, CultureInfo.InvariantCulture) > max)
            return false;
        prefix = int.Parse(digits, CultureInfo.InvariantCulture);
        rest = rest[..start];
        return true;
    }

    private static bool TryIp4(string text, out IPAddress? address)
    {
        address = null;
        var parts = text.Split('.');
        if (parts.Length != 4)
            return false;
        foreach (var part in parts)
        {
            if (part.Length is 0 or > 3 || !part.All(char.IsAsciiDigit) || (part.Length > 1 && part[0] == '0')
                || int.Parse(part, CultureInfo.InvariantCulture) > 255)
                return false;
        }
        address = IPAddress.Parse(text);
        return true;
    }

    private static bool TryIp6(string text, out IPAddress? address)
    {
        address = null;
        if (text.Length == 0 || !text.Contains(':', StringComparison.Ordinal)
            || text.Any(c => !(char.IsAsciiHexDigit(c) || c is ':' or '.')))
            return false;
        if (!IPAddress.TryParse(text, out var parsed) || parsed.AddressFamily != AddressFamily.InterNetworkV6)
            return false;
        address = parsed;
        return true;
    }

    /// <summary>domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand (section 12).</summary>
    internal static bool IsDomainSpec(string spec, out string? error)
    {
        error = null;
        if (spec.Length == 0)
        {
            error = "empty domain-spec";
            return false;
        }
        if (!SpfMacro.IsValid(spec, explanation: false))
        {
            error = "invalid macro-string in domain-spec";
            return false;
        }
        if (EndsWithMacro(spec))
            return true;
        var s = spec.EndsWith('.') ? spec[..^1] : spec;
        var dot = s.LastIndexOf('.');
        if (dot < 0 || !IsTopLabel(s[(dot + 1)..]) || s[(dot + 1)..].Contains('%', StringComparison.Ordinal))
        {
            error = $"domain-spec '{spec}' does not end in a valid top label";
            return false;
        }
        return true;
    }

    private static bool EndsWithMacro(string spec)
    {
        // Walk the macro-string (already valid) and remember whether the last token was a macro-expand.
        var last = false;
        for (var i = 0; i < spec.Length; i++)
        {
            if (spec[i] == '%')
            {
                if (spec[i + 1] == '{')
                    i = spec.IndexOf('}', i);
                else
                    i++;
                last = true;
            }
            else
            {
                last = false;
            }
        }
        return last;
    }

    private static bool IsTopLabel(string label)
    {
        if (label.Length == 0 || label[0] == '-' || label[^1] == '-')
            return false;
        var letter = false;
        var dash = false;
        foreach (var c in label)
        {
            if (char.IsAsciiLetter(c))
                letter = true;
            else if (c == '-')
                dash = true;
            else if (!char.IsAsciiDigit(c))
                return false;
        }
        return letter || dash;
    }
}
