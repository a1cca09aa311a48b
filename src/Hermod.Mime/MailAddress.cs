using System.Diagnostics.CodeAnalysis;
using System.Text;
using Hermod.Mime.Syntax;

namespace Hermod.Mime;

/// <summary>
/// A mailbox: an address (<c>local@domain</c>, the local part may be quoted, either part may be UTF-8 as RFC 6531
/// allows) and an optional display name in plain Unicode text (it is quoted or RFC 2047 encoded when written).
/// The constructor does not check syntax: <see cref="Parse"/> does, and <see cref="MimeBuilder.Validate"/> checks the
/// addresses of a spec.
/// </summary>
public sealed record MailAddress(string Address, string? DisplayName = null)
{
    /// <summary>Parses <c>a@b</c>, <c>&lt;a@b&gt;</c>, <c>Name &lt;a@b&gt;</c> or <c>"Quoted, Name" &lt;a@b&gt;</c>.</summary>
    /// <exception cref="FormatException">The text is not one mailbox with a valid address.</exception>
    public static MailAddress Parse(string text) =>
        TryParse(text, out var address) ? address : throw new FormatException($"'{text}' is not an email address");

    /// <summary>Like <see cref="Parse"/>, without throwing.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, [NotNullWhen(true)] out MailAddress? address)
    {
        address = null;
        if (text is null || !AddressSyntax.IsValidHeaderText(text))
            return false;
        var s = text.Trim();
        if (!s.EndsWith('>'))
        {
            if (!AddressSyntax.IsValidAddress(s))
                return false;
            address = new MailAddress(s);
            return true;
        }
        var open = LastOpeningBracket(s);
        if (open < 0)
            return false;
        var addr = s[(open + 1)..^1].Trim();
        var name = s[..open].Trim();
        if (name.Length >= 2 && name[0] == '"' && name[^1] == '"')
        {
            if (!TryUnquote(name, out name))
                return false;
        }
        if (!AddressSyntax.IsValidAddress(addr) || !AddressSyntax.IsValidDisplayName(name))
            return false;
        address = new MailAddress(addr, name.Length == 0 ? null : name);
        return true;
    }

    /// <summary>True when <paramref name="address"/> is a valid <c>local@domain</c> (RFC 5321 / RFC 6531 syntax).</summary>
    public static bool IsValidAddress([NotNullWhen(true)] string? address) => address is not null && AddressSyntax.IsValidAddress(address);

    /// <summary>True when the address has non-ASCII characters: sending it needs SMTPUTF8 (RFC 6531).</summary>
    public bool IsInternational => !System.Text.Ascii.IsValid(Address);

    /// <summary>The mailbox as a person would type it (not header-encoded): <c>"Name" &lt;a@b&gt;</c> or <c>a@b</c>.</summary>
    public override string ToString()
    {
        if (string.IsNullOrEmpty(DisplayName))
            return Address;
        var sb = new StringBuilder(DisplayName.Length + Address.Length + 6).Append('"');
        foreach (var c in DisplayName)
        {
            if (c is '"' or '\\')
                sb.Append('\\');
            sb.Append(c);
        }
        return sb.Append("\" <").Append(Address).Append('>').ToString();
    }

    private static int LastOpeningBracket(string s)
    {
        var open = -1;
        var quoted = false;
        for (var i = 0; i < s.Length - 1; i++)
        {
            var c = s[i];
            if (quoted && c == '\\')
                i++;
            else if (c == '"')
                quoted = !quoted;
            else if (!quoted && c == '<')
                open = i;
        }
        return quoted ? -1 : open;
    }

    private static bool TryUnquote(string quoted, out string value)
    {
        var sb = new StringBuilder(quoted.Length);
        for (var i = 1; i < quoted.Length - 1; i++)
        {
            var c = quoted[i];
            if (c == '\\')
            {
                if (++i == quoted.Length - 1)
                {
                    value = "";
                    return false;
                }
                c = quoted[i];
            }
            else if (c == '"')
            {
                value = "";
                return false;
            }
            sb.Append(c);
        }
        value = sb.ToString();
        return true;
    }
}
