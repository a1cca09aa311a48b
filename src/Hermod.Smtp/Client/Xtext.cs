using System.Globalization;
using System.Text;

namespace Hermod.Smtp.Client;

/// <summary>Encodings of DSN parameter values (RFC 3461 4, RFC 6533 3).</summary>
internal static class Xtext
{
    /// <summary>xtext: '!'..'~' except '+' and '=' as they are, every other octet of the UTF-8 form as "+XX".</summary>
    public static string Encode(string value)
    {
        var sb = new StringBuilder(value.Length);
        foreach (var b in Encoding.UTF8.GetBytes(value))
        {
            if (b is >= (byte)'!' and <= (byte)'~' and not (byte)'+' and not (byte)'=')
                sb.Append((char)b);
            else
                sb.Append('+').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>
    /// The ORCPT value for a stored "addr-type;address" (the form the server keeps; no type means rfc822).
    /// An ASCII address is xtext; a non-ASCII rfc822 / utf-8 address becomes "utf-8;" with utf-8-addr-xtext.
    /// </summary>
    public static string EncodeOrcpt(string stored)
    {
        var semi = stored.IndexOf(';', StringComparison.Ordinal);
        var type = semi < 0 ? "rfc822" : stored[..semi];
        var address = semi < 0 ? stored : stored[(semi + 1)..];
        if (Ascii.IsValid(address))
            return type + ";" + Encode(address);
        if (type.Equals("rfc822", StringComparison.OrdinalIgnoreCase) || type.Equals("utf-8", StringComparison.OrdinalIgnoreCase))
            return "utf-8;" + EncodeUtf8Address(address);
        return type + ";" + Encode(address);
    }

    /// <summary>utf-8-addr-xtext (RFC 6533 3): QCHAR as it is, anything else as "\x{HEX}" of its code point.</summary>
    public static string EncodeUtf8Address(string address)
    {
        var sb = new StringBuilder(address.Length + 16);
        foreach (var rune in address.EnumerateRunes())
        {
            var v = rune.Value;
            if (v is >= 0x21 and <= 0x7e && v is not '+' and not '=' and not '\\')
                sb.Append((char)v);
            else
                sb.Append("\\x{").Append(v.ToString("X2", CultureInfo.InvariantCulture)).Append('}');
        }
        return sb.ToString();
    }
}
